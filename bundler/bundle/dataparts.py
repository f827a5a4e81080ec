"""The data parts on disk: one byte stream cut into ``BUNDLE.000, .001, ...`` of exactly the split size
(the last one shorter). Any thread writes at any offset (each blob has its place reserved in the stream
before its first byte arrives, see :mod:`.sink`); one thread reads the stream back in order to hash each
part (:mod:`.disk_stage`), and closes a part once it is hashed whole.

A resumed export starts again at the end of its last journaled blob (:meth:`DataParts.cut`): the parts after
it are removed, and the part holding it is truncated and hashed again from disk.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import disk_error
from .names import data_part, existing_data_parts

HASH_CHUNK = 4 << 20

Buffers = list[bytes | memoryview]


@dataclass(frozen=True)
class PartInfo:
    path: Path
    size: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.path.name, "size": self.size, "sha256": self.sha256}


class DataParts:
    def __init__(self, bundle: Path, split: int | None) -> None:
        self.bundle = bundle
        self.split = split
        self.start = 0
        """Where this run's writing starts (after what a resumed run keeps)."""
        self.done: list[PartInfo] = []
        self.resumed_hash = hashlib.sha256()
        """The sha256 state of the part holding ``start``, over its bytes before ``start``."""
        self._fds: dict[int, int] = {}
        self._lock = threading.Lock()

    # -- where bytes go --------------------------------------------------------------------------
    def locate(self, offset: int) -> tuple[int, int]:
        """(part index, offset within that part) of a stream offset."""
        return (offset // self.split, offset % self.split) if self.split else (0, offset)

    def part_end(self, index: int) -> int | None:
        """The stream offset where part ``index`` ends (None: the only part, unsplit)."""
        return (index + 1) * self.split if self.split else None

    def path(self, index: int) -> Path:
        return data_part(self.bundle, index)

    def fd(self, index: int) -> int:
        with self._lock:
            fd = self._fds.get(index)
            if fd is None:
                try:
                    fd = os.open(self.path(index), os.O_RDWR | os.O_CREAT, 0o644)
                except OSError as exc:
                    raise disk_error(exc, "the bundle", self.path(index)) from exc
                self._fds[index] = fd
            return fd

    def write(self, offset: int, buffers: Buffers) -> None:
        """Write ``buffers`` (one after the other) at stream ``offset``, across part boundaries."""
        views = [memoryview(b).cast("B") for b in buffers if len(b)]
        while views:
            index, within = self.locate(offset)
            room = self.split - within if self.split else sum(len(v) for v in views)
            batch, views = _take(views, room)
            try:
                _pwritev_all(self.fd(index), batch, within)
            except OSError as exc:
                raise disk_error(exc, "the bundle", self.path(index)) from exc
            offset += sum(len(v) for v in batch)

    def hash_into(self, digest: hashlib._Hash, offset: int, length: int) -> None:
        """Feed ``length`` bytes of the stream at ``offset`` (within one part) to ``digest`` straight from the
        page cache: mapped, not read into a buffer (the copy was 0.1-0.35 s of CPU a GB, on two cores the
        downloads and the registry keep busy)."""
        index, within = self.locate(offset)
        fd = self.fd(index)
        base = within - within % mmap.ALLOCATIONGRANULARITY
        try:
            mapped = mmap.mmap(fd, within + length - base, prot=mmap.PROT_READ, offset=base)
        except ValueError as exc:  # the mapping would reach past the end of the file
            raise self._shorter(index) from exc
        except OSError:  # a filesystem that cannot map files (some FUSE mounts): read the bytes instead
            self._read_and_hash(digest, index, within, length)
            return
        with mapped, memoryview(mapped) as view, view[within - base:] as data:
            digest.update(data)

    def _shorter(self, index: int) -> OSError:
        return OSError(f"{self.path(index)} is shorter than what was written to it")

    def _read_and_hash(self, digest: hashlib._Hash, index: int, within: int, length: int) -> None:
        buf = memoryview(bytearray(length))
        got = 0
        while got < length:
            try:
                n = os.preadv(self.fd(index), [buf[got:]], within + got)
            except OSError as exc:
                raise disk_error(exc, "the bundle", self.path(index)) from exc
            if n <= 0:
                raise self._shorter(index)
            got += n
        digest.update(buf)

    def sync_handle(self, index: int) -> int | None:
        """A duplicate descriptor of part ``index`` (None when it is closed), for another thread to fsync."""
        with self._lock:
            fd = self._fds.get(index)
            return os.dup(fd) if fd is not None else None

    def close_part(self, index: int, size: int, sha256: str) -> None:
        """Part ``index`` is written and hashed whole: make it durable (the journal may name blobs in it)."""
        path = self.path(index)
        with self._lock:
            fd = self._fds.pop(index, None)
        try:
            if fd is None:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size != size:
                    os.ftruncate(fd, size)  # a skipped place at the very end was never written to
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise disk_error(exc, "the bundle", path) from exc
        self.done.append(PartInfo(path, size, sha256))

    # -- cutting back ----------------------------------------------------------------------------
    def cut(self, offset: int) -> None:
        """Start writing at ``offset`` (the end of what an earlier run keeps): everything after it is
        dropped, the parts before it are hashed from disk."""
        index, within = self.locate(offset)
        for stale in existing_data_parts(self.bundle):
            if int(stale.name[len(self.bundle.name) + 1:]) > index:
                stale.unlink()
        self.done = []
        while len(self.done) < index:
            path = self.path(len(self.done))
            self.done.append(PartInfo(path, path.stat().st_size, hash_file(path)))
        path = self.path(index)
        try:
            if within or path.exists():
                with open(path, "ab") as fh:
                    fh.truncate(within)
            self.resumed_hash = _sha256_of(path, within) if within else hashlib.sha256()
        except OSError as exc:
            raise disk_error(exc, "the bundle", path) from exc
        self.start = offset

    def finish(self) -> list[PartInfo]:
        """Every part hashed and closed (an empty stream still has part 000); parts of earlier runs removed."""
        if not self.done:
            self.close_part(0, 0, hashlib.sha256().hexdigest())
        for stale in existing_data_parts(self.bundle)[len(self.done):]:
            stale.unlink()
        return list(self.done)

    def close(self) -> None:
        with self._lock:
            fds, self._fds = list(self._fds.values()), {}
        for fd in fds:
            os.close(fd)


def _take(views: list[memoryview], room: int) -> tuple[list[memoryview], list[memoryview]]:
    """The first ``room`` bytes of ``views`` and the rest."""
    batch: list[memoryview] = []
    while views and room:
        v = views[0]
        if len(v) <= room:
            batch.append(v)
            room -= len(v)
            views = views[1:]
        else:
            batch.append(v[:room])
            views = [v[room:], *views[1:]]
            room = 0
    return batch, views


def _pwritev_all(fd: int, views: list[memoryview], offset: int) -> None:
    """``pwritev`` until every byte is written (a short write continues where it stopped)."""
    while views:
        n = os.pwritev(fd, views[:1024], offset)  # IOV_MAX
        offset += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views = views[1:]
        if n:
            views = [views[0][n:], *views[1:]]


def _sha256_of(path: Path, length: int | None) -> hashlib._Hash:
    """The sha256 state of the file's first ``length`` bytes (all of it with None), to go on from."""
    h = hashlib.sha256()
    left = length
    with open(path, "rb") as fh:
        while left is None or left > 0:
            data = fh.read(HASH_CHUNK if left is None else min(HASH_CHUNK, left))
            if not data:
                break
            h.update(data)
            if left is not None:
                left -= len(data)
    return h


def hash_file(path: Path) -> str:
    return _sha256_of(path, None).hexdigest()
