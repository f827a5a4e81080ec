"""The bundle's bytes on removable media: ``BUNDLE`` or ``BUNDLE.000, .001, ...`` of a fixed size, each
part's sha256 in ``BUNDLE.sha256`` (sha256sum format). Written by a thread (hashing overlaps compression);
read back as one stream whose every part is checked when its end is reached."""

from __future__ import annotations

import hashlib
import io
import os
import queue
import re
import threading
from pathlib import Path
from typing import IO, Any

from ..errors import BundleError, BundlerError, disk_error

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """``4G``, ``700M``, ``1.5GiB`` or a plain byte count."""
    m = _SIZE.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise BundlerError(f"not a size: {text!r}", "use a number with K, M, G or T, e.g. 4G or 700M")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def checksum_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sha256")


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
            raise disk_error(exc, "the bundle", path) from exc
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
            raise disk_error(exc, "the bundle", self._tmp_name(self._index)) from exc

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
