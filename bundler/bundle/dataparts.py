"""The data parts on disk: one append-only byte stream cut into ``BUNDLE.000, .001, ...`` of exactly the
split size (the last one shorter), each hashed while it is written. Used by one thread at a time.

A stream can be cut back to an earlier offset (a blob whose download failed after it started streaming
in; a resumed export starting again at the last journaled blob): the parts after it are removed and the
part holding the offset is truncated and hashed again from disk.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import disk_error
from .names import data_part, existing_data_parts

HASH_CHUNK = 4 << 20
PARALLEL_HASH = 256 << 10
"""Pieces at least this big are hashed by a helper thread while they are written (both give up the GIL)."""


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
        self.offset = 0
        self.done: list[PartInfo] = []
        self._fh: IO[bytes] | None = None
        self._hash = hashlib.sha256()
        self._in_part = 0
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="bundle-hash")

    # -- where bytes go --------------------------------------------------------------------------
    @property
    def index(self) -> int:
        return len(self.done)

    def _path(self, index: int) -> Path:
        return data_part(self.bundle, index)

    def _open(self, truncate: bool = True) -> IO[bytes]:
        path = self._path(self.index)
        try:
            fh = open(path, "r+b" if not truncate and path.exists() else "wb")  # noqa: SIM115 - kept open
        except OSError as exc:
            raise disk_error(exc, "the bundle", path) from exc
        fh.seek(self._in_part)
        return fh

    def _close_part(self) -> None:
        assert self._fh is not None
        self._fh.flush()
        os.fsync(self._fh.fileno())  # a finished part is durable (the journal may name blobs in it)
        self._fh.close()
        self._fh = None
        self.done.append(PartInfo(self._path(self.index), self._in_part, self._hash.hexdigest()))
        self._hash = hashlib.sha256()
        self._in_part = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        try:
            while len(view):
                if self._fh is None:
                    self._fh = self._open()
                room = len(view) if not self.split else self.split - self._in_part
                piece = view[:room]
                if len(piece) >= PARALLEL_HASH:  # hash in the helper thread while this one writes
                    hashed = self._hasher.submit(self._hash.update, piece)
                    self._fh.write(piece)
                    hashed.result()
                else:
                    self._fh.write(piece)
                    self._hash.update(piece)
                self._in_part += len(piece)
                self.offset += len(piece)
                view = view[len(piece):]
                if self.split and self._in_part >= self.split:
                    self._close_part()
        except OSError as exc:
            raise disk_error(exc, "the bundle", self._path(self.index)) from exc

    def sync_handle(self) -> int | None:
        """A duplicate descriptor of the part being written (flushed so far), for another thread to fsync
        while writing goes on; None when no part is open (a finished part was synced when closed)."""
        if self._fh is None:
            return None
        try:
            self._fh.flush()
            return os.dup(self._fh.fileno())
        except OSError as exc:
            raise disk_error(exc, "the bundle", self._path(self.index)) from exc

    def sync(self) -> None:
        """Make everything written so far durable (before the journal says it is there)."""
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError as exc:
                raise disk_error(exc, "the bundle", self._path(self.index)) from exc

    # -- cutting back ----------------------------------------------------------------------------
    def cut(self, offset: int) -> None:
        """Continue writing at ``offset`` (<= the current offset): everything after it is dropped."""
        if offset == self.offset and (self._fh is not None or self.done):
            return
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        index, within = (offset // self.split, offset % self.split) if self.split else (0, offset)
        for stale in existing_data_parts(self.bundle):
            if int(stale.name[len(self.bundle.name) + 1:]) > index:
                stale.unlink()
        self.done = self.done[:index]
        while len(self.done) < index:  # parts before the cut, from an earlier run: hash them from disk
            path = self._path(len(self.done))
            self.done.append(PartInfo(path, path.stat().st_size, hash_file(path)))
        path = self._path(index)
        try:
            if within or path.exists():
                with open(path, "ab") as fh:
                    fh.truncate(within)
            self._hash = hashlib.sha256()
            if within:
                self._hash = _sha256_of(path, within)
        except OSError as exc:
            raise disk_error(exc, "the bundle", path) from exc
        self._in_part = within
        self.offset = offset
        if within:
            self._fh = self._open(truncate=False)

    def finish(self) -> list[PartInfo]:
        """Close the last part (an empty stream still gets part 000); remove parts of earlier runs."""
        if self._fh is None and (not self.done or self._in_part):
            self._fh = self._open(truncate=False)
        if self._fh is not None:
            self.sync()
            self._close_part()
        for stale in existing_data_parts(self.bundle)[len(self.done):]:
            stale.unlink()
        self._hasher.shutdown(wait=False)
        return list(self.done)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._hasher.shutdown(wait=False)


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
