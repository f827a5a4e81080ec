"""Many parallel downloads in, one archive out, with no second copy of the bundle on disk.

Each blob becomes one tar member in its own zstd frame. Workers hand their chunks to a :class:`Pending`;
one writer thread takes blobs one at a time: a blob already complete (held in memory, or spooled to a
bounded temporary file when memory is full) goes first; when none is, the writer attaches to the
download with most bytes so far and follows it live. A second thread hashes and writes the compressed
frames into the data parts and keeps the journal (:mod:`.disk_stage`). Memory and spool are budgets: a worker that finds both
full waits (its download stalls) until the writer frees some.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import zstandard

from ..errors import disk_error
from .disk_stage import DiskStage
from .journal import JournalEntry
from .tarstream import MemberFrame, Pieces, blob_member

MEMORY_BUDGET = 64 << 20
LIVE_WINDOW = 8 << 20
SPOOL_READ = 1 << 20
SPOOL_FROM = 0
"""Only blobs larger than this are spooled when memory is full (measured: spooling every blob keeps the
downloads going and beats waiting for memory, although what is spooled is written twice)."""


@dataclass
class _Span:
    """Bytes of a blob in its spool file."""

    start: int
    end: int


@dataclass
class Pending:
    digest: str
    size: int
    segments: deque[bytes | _Span] = field(default_factory=deque)
    held: int = 0
    spool: Path | None = None
    spool_end: int = 0
    spool_read: int = 0
    complete: bool = False
    failed: bool = False
    live: bool = False
    reader: IO[bytes] | None = None

    def spilled(self) -> bool:
        """Chunks go to the spool file while earlier ones are still there (order is kept)."""
        return self.spool is not None and not (self.live and self.spool_read == self.spool_end)


class _Stop(Exception):
    """The sink is closing because something failed; the first error is re-raised to everyone."""


class BlobSink:
    """``put`` from any number of threads; ``close`` when every put returned."""

    def __init__(self, disk: DiskStage, spool_dir: Path, spool_limit: int, level: int = 1,
                 memory_limit: int = MEMORY_BUDGET, on_written: Callable[[str, int], object] | None = None) -> None:
        self.disk = disk
        self.spool_dir = spool_dir
        self.spool_limit = spool_limit
        self.memory_limit = memory_limit
        self.on_written = on_written
        self.offset = disk.parts.offset
        self.mem_used = 0
        self.spool_used = 0
        self.peak_spool = 0
        self._cctx = zstandard.ZstdCompressor(level=level, write_checksum=True)
        self._cond = threading.Condition()
        self._queue: list[Pending] = []
        self._closing = False
        self._stopping = False
        self._waiting = 0
        self._error: BaseException | None = None
        self._ids = itertools.count()
        self._thread = threading.Thread(target=self._write_loop, name="bundle-writer", daemon=True)
        self._thread.start()

    # -- the workers' side -----------------------------------------------------------------------
    def put(self, digest: str, size: int, chunks: Iterator[bytes]) -> None:
        """Take one blob; returns when it is held (memory or spool) or written; raises what the
        chunks raise (nothing of the blob is kept then)."""
        p = Pending(digest, size)
        with self._cond:
            self._check()
            self._queue.append(p)
            self._cond.notify_all()
        try:
            for chunk in chunks:
                self._add(p, chunk)
        except BaseException:
            with self._cond:
                p.failed = True
                if not p.live and p in self._queue:
                    self._queue.remove(p)
                    self._release(p)
                self._cond.notify_all()
            raise
        with self._cond:
            p.complete = True
            self._cond.notify_all()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self.disk.error is not None:
            raise self.disk.error

    def _add(self, p: Pending, chunk: bytes) -> None:
        n = len(chunk)
        with self._cond:
            while True:
                self._check()
                if p.live and not p.spilled():
                    if p.held < LIVE_WINDOW:  # the writer is following this blob: a short window suffices
                        self._hold(p, chunk)
                        return
                elif p.spool is None and self.mem_used + n <= self.memory_limit:
                    self._hold(p, chunk)
                    return
                elif (self.spool_used + n <= self.spool_limit and (p.size < 0 or p.size > SPOOL_FROM)) \
                        or (p.live and p.held < LIVE_WINDOW):
                    self.spool_used += n
                    self.peak_spool = max(self.peak_spool, self.spool_used)
                    break
                self._waiting += 1  # memory and spool are full: the writer should follow a download live
                self._cond.notify_all()
                self._cond.wait()
                self._waiting -= 1
        start = self._spool_write(p, chunk)
        with self._cond:
            last = p.segments[-1] if p.segments else None
            if isinstance(last, _Span) and last.end == start:
                last.end = start + n
            else:
                p.segments.append(_Span(start, start + n))
            p.spool_end = start + n
            p.held += n
            self._cond.notify_all()

    def _hold(self, p: Pending, chunk: bytes) -> None:
        p.segments.append(chunk)
        p.held += len(chunk)
        self.mem_used += len(chunk)
        self._cond.notify_all()

    def _spool_write(self, p: Pending, chunk: bytes) -> int:
        if p.spool is None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            p.spool = self.spool_dir / f"{p.digest.split(':')[1]}.{next(self._ids)}"
        try:
            with open(p.spool, "ab") as fh:
                start = fh.tell()
                fh.write(chunk)
        except OSError as exc:
            raise disk_error(exc, f"blob {p.digest} (spooled while the archive was busy)", p.spool) from exc
        return start

    def _release(self, p: Pending) -> None:
        """Give back what a pending blob held (called with the lock)."""
        self.mem_used -= sum(len(seg) for seg in p.segments if isinstance(seg, bytes))
        p.segments.clear()
        p.held = 0
        if p.reader is not None:
            p.reader.close()
        if p.spool is not None:
            self.spool_used -= p.spool_end
            p.spool.unlink(missing_ok=True)

    # -- the writer's side -----------------------------------------------------------------------
    def _pick(self) -> Pending | None:
        """A complete blob first (registration order); when none is and a download waits for room, the
        download furthest along, followed live. Stopping, only complete blobs are still written (a
        re-run keeps them)."""
        while True:
            if self._error is not None and not self._stopping:
                raise _Stop()
            for p in self._queue:
                if p.complete:
                    return p
            if self._stopping:
                return None
            if self._queue and (self._waiting or self._closing):
                return max(self._queue, key=lambda p: p.held)
            if self._closing:
                return None
            self._cond.wait()

    def _write_loop(self) -> None:
        try:
            while True:
                with self._cond:
                    p = self._pick()
                    if p is None:
                        return
                    p.live = True
                    self._cond.notify_all()  # its download may be waiting for room: it has the writer now
                self._write_blob(p)
        except _Stop:
            return
        except BaseException as exc:
            with self._cond:
                self._error = self._error or exc
                self._cond.notify_all()

    def _next_segment(self, p: Pending) -> bytes | None:
        with self._cond:
            while not p.segments and not p.complete and not p.failed:
                if self._error is not None and not self._stopping:
                    raise _Stop()
                self._cond.wait()
            if p.failed:
                raise _Failed()
            if not p.segments:
                return None
            seg = p.segments[0]
            if isinstance(seg, bytes):
                p.segments.popleft()
                p.held -= len(seg)
                self.mem_used -= len(seg)
                self._cond.notify_all()
                return seg
            start, end = seg.start, min(seg.end, seg.start + SPOOL_READ)
        assert p.spool is not None
        try:
            if p.reader is None:
                p.reader = open(p.spool, "rb")  # noqa: SIM115 - closed when the blob is released
            p.reader.seek(start)
            data = p.reader.read(end - start)
        except OSError as exc:
            raise disk_error(exc, f"blob {p.digest} (spooled)", p.spool) from exc
        with self._cond:
            seg.start = end
            if seg.start >= seg.end:
                p.segments.popleft()
            p.held -= len(data)
            p.spool_read = end
            self._cond.notify_all()
        return data

    def _write_blob(self, p: Pending) -> None:
        start = self.offset
        frame: MemberFrame | None = None
        written = 0
        try:
            while (data := self._next_segment(p)) is not None:
                if frame is None:
                    frame = MemberFrame(self._cctx, blob_member(p.digest), p.size, data)
                    self._emit(frame.start())
                written += len(data)
                self._emit(frame.feed(data))
        except _Failed:
            if self.offset != start:
                self.disk.put(start)  # cut the half-written member back out of the parts
                self.offset = start
            with self._cond:
                self._queue.remove(p)
                self._release(p)
                self._cond.notify_all()
            return
        if frame is None:  # an empty blob
            frame = MemberFrame(self._cctx, blob_member(p.digest), p.size, b"")
            self._emit(frame.start())
        self._emit(frame.finish())
        self.disk.put(JournalEntry(p.digest, written, self.offset))
        with self._cond:
            self._queue.remove(p)
            self._release(p)
            self._cond.notify_all()
        if self.on_written is not None:
            self.on_written(p.digest, written)

    def _emit(self, pieces: Pieces) -> None:
        """Hand the pieces on as one buffer: one write and one hash update per call of the disk thread (each
        of which waits for the GIL again) costs less than the copy."""
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if data:
            self.disk.put([data])
            self.offset += len(data)

    def drain(self) -> None:
        """Wait until every blob handed in so far is written."""
        with self._cond:
            while self._queue and self._error is None:
                self._cond.wait()
            self._check()

    def close(self) -> None:
        """Wait until every blob handed in is written; raise the first error."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self, exc: BaseException) -> None:
        """Stop: blobs complete in memory or spool are still written, the rest dropped."""
        with self._cond:
            self._stopping = self.disk.error is None
            self._error = self._error or exc
            self._cond.notify_all()
        self._thread.join()
        with self._cond:
            for p in self._queue:
                self._release(p)
            self._queue.clear()


class _Failed(Exception):
    """The download being written failed: its member is cut back out."""

