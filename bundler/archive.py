"""The bundle on removable media: one tar+zstd stream, optionally split into parts, with a
``BUNDLE.sha256`` file (sha256sum format) listing every part.

The archive holds an OCI layout. Its order is chosen for streaming import: ``oci-layout``,
``index.json`` and ``bundler.json`` first, then every manifest, then the blobs (bootstrap images'
blobs before the rest). An importer therefore knows the whole plan before the first large blob.
By hand: ``cat BUNDLE.* | zstd -d | tar x`` unpacks it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import re
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zstandard

from .errors import BundleError, BundlerError
from .layout import METADATA_FILE, OCILayout, disk_error

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
FRONT_FILES = ("oci-layout", "index.json", METADATA_FILE)
STREAM_ERRORS = (tarfile.TarError, zstandard.ZstdError, EOFError, OSError)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_AHEAD = 256 << 10
READ_LAG = 3 * READ_AHEAD  # buffered reader + zstd input + tar buffer


def parse_size(text: str) -> int:
    """``4G``, ``700M``, ``1.5GiB`` or a plain byte count."""
    m = _SIZE.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise BundlerError(f"not a size: {text!r}", "use a number with K, M, G or T, e.g. 4G or 700M")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def checksum_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sha256")


# -- writing --------------------------------------------------------------------------------------
class PartWriter(io.RawIOBase):
    """A writable stream that lands in ``BUNDLE`` or ``BUNDLE.000, .001, ...`` of ``split`` bytes."""

    def __init__(self, bundle: Path, split: int | None) -> None:
        super().__init__()
        self.bundle = bundle
        self.split = split
        self.parts: list[tuple[Path, str]] = []
        self._fh: IO[bytes] | None = None
        self._hash = hashlib.sha256()
        self._written = 0
        self._index = 0
        self._open_next()
        # Disk writes and part hashing run in a thread, overlapping with compression in the caller.
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="bundle-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write_now(item)
                except BaseException as exc:  # handed to the caller on its next write or finish
                    self._error = exc

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _final_name(self, index: int) -> Path:
        return self.bundle.with_name(f"{self.bundle.name}.{index:03d}") if self.split else self.bundle

    def _tmp_name(self, index: int) -> Path:
        final = self._final_name(index)
        return final.with_name(final.name + ".partial")

    def _open_next(self) -> None:
        path = self._tmp_name(self._index)
        try:
            self._fh = open(path, "wb")
        except OSError as exc:
            raise disk_error(exc, "the bundle", path) from None
        self._hash = hashlib.sha256()
        self._written = 0

    def _close_current(self) -> None:
        assert self._fh is not None
        self._fh.close()
        self.parts.append((self._final_name(self._index), self._hash.hexdigest()))
        self._fh = None
        self._index += 1

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if self._error is not None:
            raise self._error
        data = bytes(b)
        self._queue.put(data)
        return len(data)

    def _write_now(self, b: bytes) -> None:
        data = memoryview(b).cast("B")
        try:
            while len(data):
                if self._fh is None:
                    self._open_next()
                room = len(data) if not self.split else self.split - self._written
                piece = data[:room]
                assert self._fh is not None
                self._fh.write(piece)
                self._hash.update(piece)
                self._written += len(piece)
                data = data[len(piece):]
                if self.split and self._written >= self.split:
                    self._close_current()
        except OSError as exc:
            raise disk_error(exc, "the bundle", self._tmp_name(self._index)) from None

    def finish(self) -> list[tuple[Path, str]]:
        """Close the last part, rename every part into place, write BUNDLE.sha256."""
        self._stop()
        if self._fh is not None:
            self._close_current()
        for i, (final, _) in enumerate(self.parts):
            os.replace(self._tmp_name(i), final)
        stale = self._index
        while self.split and self._final_name(stale).exists():
            self._final_name(stale).unlink()
            stale += 1
        if self.split and self.bundle.exists():
            self.bundle.unlink()
        if not self.split:
            for old in self.bundle.parent.glob(self.bundle.name + ".[0-9][0-9][0-9]"):
                old.unlink()
        lines = "".join(f"{digest}  {path.name}\n" for path, digest in self.parts)
        checksum_path(self.bundle).write_text(lines)
        return self.parts

    def abort(self) -> None:
        try:
            self._stop()
        except BaseException:  # noqa: S110 - the original error is already propagating
            pass
        if self._fh is not None:
            self._fh.close()
        for i in range(self._index + 1):
            self._tmp_name(i).unlink(missing_ok=True)


class ArchiveWriter:
    """tar+zstd into the bundle's part(s); files go in, in the order they are added."""

    def __init__(self, bundle: Path, split: int | None = None, level: int = 3) -> None:
        self.parts = PartWriter(bundle, split)
        # single-threaded: on already-compressed layers zstd's worker threads are slower, not faster
        cctx = zstandard.ZstdCompressor(level=level, write_checksum=True)
        self._zw = cctx.stream_writer(self.parts, closefd=False)  # type: ignore[arg-type]
        self._tar = tarfile.open(fileobj=self._zw, mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 20)
        self._tar.copybufsize = 1 << 20  # type: ignore[attr-defined]

    def add_path(self, name: str, path: Path) -> int:
        info = tarfile.TarInfo(name)
        info.size = path.stat().st_size
        info.mode = 0o644
        with open(path, "rb") as fh:
            self._tar.addfile(info, fh)
        return info.size

    def add_blob(self, layout: OCILayout, digest: str) -> int:
        return self.add_path(blob_member(digest), layout.blob_path(digest))

    def finish(self) -> list[tuple[Path, str]]:
        """End the tar and the zstd frame; rename the parts into place; write BUNDLE.sha256."""
        self._tar.close()
        self._zw.close()
        return self.parts.finish()

    def abort(self) -> None:
        """Remove every partial part (the error that caused it is already on its way)."""
        self.parts.abort()


def blob_member(digest: str) -> str:
    return f"blobs/sha256/{digest.split(':', 1)[1]}"


def pack(layout: OCILayout, bundle: Path, front_blobs: list[str], other_blobs: list[str],
         split: int | None = None, level: int = 3, progress: Any = None) -> list[tuple[Path, str]]:
    """Write the layout as tar+zstd in streaming order; returns (part, sha256) pairs."""
    writer = ArchiveWriter(bundle, split, level)
    try:
        for name in FRONT_FILES:
            writer.add_path(name, layout.root / name)
        for digest in [*front_blobs, *other_blobs]:
            size = writer.add_blob(layout, digest)
            if progress is not None:
                progress.update(size)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


# -- reading --------------------------------------------------------------------------------------
def find_parts(bundle: Path) -> list[tuple[Path, str | None]]:
    """The bundle's parts in order with their expected sha256 (None when no .sha256 exists)."""
    sums = checksum_path(bundle)
    if sums.exists():
        parts: list[tuple[Path, str | None]] = []
        for lineno, line in enumerate(sums.read_text().splitlines(), 1):
            if not line.strip():
                continue
            m = re.match(r"^([0-9a-f]{64})\s+\*?(.+)$", line.strip())
            if not m:
                raise BundleError(f"{sums} line {lineno} is not sha256sum format: {line!r}")
            parts.append((bundle.parent / m.group(2), m.group(1)))
        missing = [p for p, _ in parts if not p.exists()]
        if missing:
            raise BundleError(
                f"bundle part {missing[0]} is missing ({len(missing)} of {len(parts)} parts missing)",
                "copy every part listed in " + sums.name + " next to it",
            )
        return parts
    if bundle.is_file():
        return [(bundle, None)]
    split = sorted(bundle.parent.glob(bundle.name + ".[0-9][0-9][0-9]"))
    if split:
        return [(p, None) for p in split]
    raise BundleError(f"no bundle at {bundle} (nor {bundle.name}.000 parts or {sums.name})")


class PartReader(io.RawIOBase):
    """Reads the parts as one stream, checking each part's sha256 when its end is reached."""

    def __init__(self, parts: list[tuple[Path, str | None]]) -> None:
        super().__init__()
        self.parts = parts
        self.index = -1
        self._fh: io.BufferedReader | None = None
        self._hash = hashlib.sha256()
        self.bytes_read = 0
        self._next()

    @property
    def current(self) -> Path:
        return self.parts[min(self.index, len(self.parts) - 1)][0]

    def _next(self) -> bool:
        if self._fh is not None:
            self._fh.close()
            path, expected = self.parts[self.index]
            if expected and self._hash.hexdigest() != expected:
                raise BundleError(
                    f"bundle part {path.name} is corrupt: sha256 {self._hash.hexdigest()} != {expected}",
                    "copy the part again from the original media",
                )
        self.index += 1
        if self.index >= len(self.parts):
            self._fh = None
            return False
        self._fh = open(self.parts[self.index][0], "rb")
        self._hash = hashlib.sha256()
        return True

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._fh is not None:
            n = self._fh.readinto(b)
            if n:
                self._hash.update(memoryview(b)[:n])
                self.bytes_read += n
                return n
            if not self._next():
                break
        return 0

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        super().close()


@dataclass
class Entry:
    """One file of the archive, readable once, in order."""

    name: str
    size: int
    fileobj: io.RawIOBase

    @property
    def digest(self) -> str | None:
        m = re.match(r"^blobs/sha256/([0-9a-f]{64})$", self.name)
        return f"sha256:{m.group(1)}" if m else None


class BundleReader:
    """Streams a bundle: front files first (parsed), then blobs one by one."""

    def __init__(self, bundle: str | Path) -> None:
        self.bundle = Path(bundle)
        self.parts = find_parts(self.bundle)
        self.total_bytes = sum(p.stat().st_size for p, _ in self.parts)
        with open(self.parts[0][0], "rb") as first:
            if first.read(4) != ZSTD_MAGIC:
                raise BundleError(f"{self.bundle} is not a bundle (not a zstd stream)",
                                  "give the path of a bundle written by `bundler export`")
        self.current_member: str | None = None
        self._reader = PartReader(self.parts)
        # Modest read-ahead, so damage is found near the blob it hits and that blob can be named.
        dctx = zstandard.ZstdDecompressor()
        self._zr = dctx.stream_reader(io.BufferedReader(self._reader, READ_AHEAD), read_across_frames=True)
        try:
            self._tar = tarfile.open(fileobj=self._zr, mode="r|", bufsize=READ_AHEAD)
        except tarfile.ReadError as exc:
            raise BundleError(f"{self.bundle} is not a bundle (not a tar stream: {exc})") from None
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.corrupt(exc) from None
        self.front: dict[str, bytes] = {}
        self._pending: tarfile.TarInfo | None = None
        self._read_front()

    @property
    def bytes_read(self) -> int:
        return self._reader.bytes_read

    @property
    def current_part(self) -> str:
        return self._reader.current.name

    def parts_between(self, start: int, end: int) -> str:
        """The part(s) that bytes read between two ``bytes_read`` marks can have come from: decoding runs
        up to READ_LAG compressed bytes ahead of the data it hands out."""
        names: list[str] = []
        offset = 0
        for path, _ in self.parts:
            size = path.stat().st_size
            if offset + size > max(0, start - READ_LAG) and offset <= end:
                names.append(path.name)
            offset += size
        return names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]}" if names else self.current_part

    def corrupt(self, exc: BaseException) -> BundleError:
        """The error for a stream that broke while reading the current part (and blob)."""
        if isinstance(exc, BundleError):
            message = exc.message
        else:
            message = f"bundle is truncated or corrupt in part {self._reader.current.name}: {exc}"
        blob = (self.current_member or "").rpartition("/")[2]
        if blob and "while reading blob" not in message:
            message += f" (while reading blob sha256:{blob})"
        return BundleError(message, "copy the part again from the original media, then run `bundler verify`")

    def _next_member(self) -> tarfile.TarInfo | None:
        try:
            return self._tar.next()
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.corrupt(exc) from None

    def _read_front(self) -> None:
        while True:
            member = self._next_member()
            if member is None or member.name.startswith("blobs/"):
                self._pending = member
                break
            fh = self._tar.extractfile(member)
            self.front[member.name] = fh.read() if fh else b""
        for name in ("oci-layout", "index.json", METADATA_FILE):
            if name not in self.front:
                raise BundleError(f"{self.bundle} is not a bundle: it has no {name}")

    @property
    def index(self) -> dict[str, Any]:
        return dict(json.loads(self.front["index.json"]))

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(json.loads(self.front[METADATA_FILE]))

    def entries(self) -> Iterator[Entry]:
        """Every blob in archive order; each entry must be consumed before the next is asked for."""
        member = self._pending
        while member is not None:
            if member.isfile():
                fh = self._tar.extractfile(member)
                assert fh is not None
                self.current_member = member.name
                yield Entry(member.name, member.size, _Guarded(fh, self))
            member = self._next_member()
        self.current_member = None
        # drain so the last part's checksum is checked
        try:
            while self._zr.read(1 << 20):
                pass
            while self._reader.read(1 << 20):
                pass
        except (zstandard.ZstdError, OSError) as exc:
            raise BundleError(f"bundle is corrupt at its end ({self._reader.current.name}): {exc}") from None

    def close(self) -> None:
        self._reader.close()


class _Guarded(io.RawIOBase):
    """A tar member reader that turns stream failures into BundleErrors naming the part."""

    def __init__(self, fh: IO[bytes], owner: BundleReader) -> None:
        super().__init__()
        self.fh = fh
        self.owner = owner

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            return self.fh.read(n)
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.owner.corrupt(exc) from None

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
