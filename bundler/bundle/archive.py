"""tar+zstd: the archive inside the parts. Files go in, in the order they are added; they come out in the
same order, one at a time, so an importer streams the bundle once. ``cat BUNDLE* | zstd -d | tar x``
unpacks it by hand."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zstandard

from ..errors import BundleError
from .parts import PartReader, PartWriter, find_parts

STREAM_ERRORS = (tarfile.TarError, zstandard.ZstdError, EOFError, OSError)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_AHEAD = 256 << 10
READ_LAG = 3 * READ_AHEAD  # buffered reader + zstd input + tar buffer


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

    def add_blob(self, digest: str, path: Path) -> int:
        return self.add_path(blob_member(digest), path)

    def finish(self) -> list[tuple[Path, str]]:
        """End the tar and the zstd frame; rename the parts into place; write BUNDLE.sha256."""
        self._tar.close()
        self._zw.close()  # type: ignore[no-untyped-call]
        return self.parts.finish()

    def abort(self) -> None:
        """Remove every partial part (the error that caused it is already on its way)."""
        self.parts.abort()


def blob_member(digest: str) -> str:
    return f"blobs/sha256/{digest.split(':', 1)[1]}"


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


class ArchiveReader:
    """Streams a bundle: the front (every file before the first blob) read at once, then blobs one by one."""

    def __init__(self, bundle: str | Path, required: tuple[str, ...] = ()) -> None:
        self.bundle = Path(bundle)
        self.required = required
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
            raise BundleError(f"{self.bundle} is not a bundle (not a tar stream: {exc})") from exc
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.corrupt(exc) from exc
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
            raise self.corrupt(exc) from exc

    def _read_front(self) -> None:
        while True:
            member = self._next_member()
            if member is None or member.name.startswith("blobs/"):
                self._pending = member
                break
            fh = self._tar.extractfile(member)
            self.front[member.name] = fh.read() if fh else b""
        for name in self.required:
            if name not in self.front:
                raise BundleError(f"{self.bundle} is not a bundle: it has no {name}")

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
            raise BundleError(f"bundle is corrupt at its end ({self._reader.current.name}): {exc}") from exc

    def close(self) -> None:
        self._reader.close()


class _Guarded(io.RawIOBase):
    """A tar member reader that turns stream failures into BundleErrors naming the part."""

    def __init__(self, fh: IO[bytes], owner: ArchiveReader) -> None:
        super().__init__()
        self.fh = fh
        self.owner = owner

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            return self.fh.read(n)
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.owner.corrupt(exc) from exc

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
