"""Many parallel downloads in, one archive out, with no second copy of the bundle on disk.

Each blob becomes one tar member in its own zstd frame. A layer (already compressed) is stored, not
compressed again: its frame's length follows from its size alone, so the blob gets its place in the
stream before its first byte arrives and its download writes straight into the data parts, in parallel
with the others. A small blob that compresses (a config) is compressed in memory first and placed when its
frame is complete. The parts are hashed and journaled behind the downloads (:mod:`.disk_stage`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import zstandard

from ..errors import DigestMismatchError
from .disk_stage import DiskStage
from .tarstream import MemberFrame, Pieces, blob_member, precompressed, stored_length

COMPRESS_UP_TO = 16 << 20
"""Blobs that do not look compressed are compressed (in memory) up to this size; larger ones are stored."""


class _Stop(Exception):
    """The sink stops because something failed elsewhere; the first error is re-raised to everyone."""


class BlobSink:
    """``put`` from any number of threads; ``close`` when every put returned."""

    def __init__(self, disk: DiskStage, level: int = 1, on_written: Callable[[str, int], object] | None = None) -> None:
        self.disk = disk
        self.level = level
        self.on_written = on_written
        self._error: BaseException | None = None
        self._local = threading.local()

    def check(self) -> None:
        if self._error is not None:
            raise self._error
        if self.disk.error is not None:
            raise self.disk.error

    def _compressor(self) -> zstandard.ZstdCompressor:
        """One per thread: a compressor is not to be shared by threads."""
        cctx = getattr(self._local, "cctx", None)
        if cctx is None:
            cctx = self._local.cctx = zstandard.ZstdCompressor(level=self.level, write_checksum=True)
        return cctx

    def put(self, digest: str, size: int, chunks: Iterator[bytes]) -> None:
        """Write one blob into the stream; raises what the chunks raise (its place is skipped then)."""
        self.check()
        it = iter(chunks)
        first = next(it, b"")
        if size >= 0 and (size > COMPRESS_UP_TO or precompressed(first)):
            self._stream(digest, size, first, it)
        else:
            self._compressed(digest, size, first, it)
        if self.on_written is not None:
            self.on_written(digest, size)

    def _stream(self, digest: str, size: int, first: bytes, rest: Iterator[bytes]) -> None:
        """A stored frame, written in place as the download goes."""
        name = blob_member(digest)
        frame = MemberFrame(None, name, size, first, stored=True)
        region = self.disk.reserve(digest, size, stored_length(name, size))
        got = len(first)
        try:
            at = self._write(region.start, [*frame.start(), *frame.feed(first)] if got <= size else [])
            for chunk in rest:
                self.check()
                got += len(chunk)
                if got > size:
                    break
                at = self._write(at, frame.feed(chunk))
            if got != size:
                raise DigestMismatchError(f"blob {digest}: {'at least ' if got > size else ''}{got} bytes arrived, "
                                          f"its manifest says {size}")
            self._write(at, frame.finish())
        except BaseException:
            self.disk.settle(region, False)
            raise
        self.disk.settle(region, True)

    def _compressed(self, digest: str, size: int, first: bytes, rest: Iterator[bytes]) -> None:
        """Compressed in memory (or of unknown size), then placed whole."""
        name = blob_member(digest)
        if size < 0:
            first = b"".join([first, *rest])
            size, rest = len(first), iter(())
        frame = MemberFrame(self._compressor(), name, size, first)
        out: Pieces = [*frame.start(), *frame.feed(first)]
        for chunk in rest:
            self.check()
            out += frame.feed(chunk)
        out += frame.finish()
        region = self.disk.reserve(digest, size, sum(len(p) for p in out))
        try:
            self._write(region.start, out)
        except BaseException:
            self.disk.settle(region, False)
            raise
        self.disk.settle(region, True)

    def _write(self, at: int, pieces: Pieces) -> int:
        if pieces:
            self.disk.parts.write(at, pieces)
            at += sum(len(p) for p in pieces)
        return at

    def abort(self, exc: BaseException) -> None:
        """Stop: downloads still writing fail on their next chunk (their places are skipped)."""
        self._error = self._error or _Stop(str(exc))
