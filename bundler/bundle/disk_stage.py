"""The order of the data stream: each blob gets its place (a region) before its first byte arrives, the
downloads write into their places in parallel (:mod:`.sink`), and one thread follows the complete prefix
of the stream: it reads it back to hash each part, closes parts hashed whole, and hands the blobs it passed
to a second thread that makes the part durable (fsync while writing goes on) and only then journals them,
so the journal never names a blob a crash could lose.

Reading back what was just written costs only its sha256 (the page cache is mapped, not copied); in
exchange nothing waits for the disk, no blob is held in memory or written twice, and no thread hands every
megabyte to another (each hand over waits for the interpreter lock behind eight download threads).
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass

from .dataparts import HASH_CHUNK, DataParts
from .journal import Journal, JournalEntry
from .tarstream import skippable_headers

SYNC_BYTES = 256 << 20
SYNC_SECONDS = 1.0


@dataclass(eq=False)
class Region:
    """A blob's place in the stream: ``open`` while its download writes it, then ``done``, ``void`` (the
    download failed: skippable frames fill it) or ``broken`` (not even that could be written: the stream
    ends before it)."""

    digest: str
    size: int
    start: int
    end: int
    state: str = "open"


class DiskStage:
    def __init__(self, parts: DataParts, journal: Journal) -> None:
        self.parts = parts
        self.journal = journal
        self.end = parts.start
        self.hashed = parts.start
        self.error: BaseException | None = None
        self.written: list[JournalEntry] = []
        """This run's blobs in stream order, once the hashing thread passed them."""
        self._hash = parts.resumed_hash
        self._open: deque[Region] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._entries: list[JournalEntry] = []
        self._since_sync = 0
        self._last_sync = time.monotonic()
        self._syncs: queue.Queue[tuple[int | None, list[JournalEntry]] | None] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="bundle-hash", daemon=True)
        self._syncer = threading.Thread(target=self._sync_loop, name="bundle-sync", daemon=True)
        self._thread.start()
        self._syncer.start()

    # -- the downloads' side ---------------------------------------------------------------------
    def reserve(self, digest: str, size: int, length: int) -> Region:
        """The next ``length`` bytes of the stream, for one blob's frame."""
        with self._cond:
            if self.error is not None:
                raise self.error
            region = Region(digest, size, self.end, self.end + length)
            self.end = region.end
            self._open.append(region)
            return region

    def settle(self, region: Region, done: bool) -> None:
        """The blob's frame is written whole (``done``), or its download failed: fill its place with
        skippable frames so the stream stays valid."""
        state = "done"
        if not done:
            state = "void"
            try:
                self._skip(region)
            except Exception:  # noqa: BLE001 - a disk error while failing already: the stream ends here
                state = "broken"
        with self._cond:
            region.state = state
            self._cond.notify_all()

    def _skip(self, region: Region) -> None:
        """Skippable frames over the region; a zero byte at its end in every part it reaches, so the files
        are as long as the stream says (what the download did not write reads as zeros)."""
        for at, head in skippable_headers(region.end - region.start):
            self.parts.write(region.start + at, [head])
        first, last = self.parts.locate(region.start)[0], self.parts.locate(region.end - 1)[0]
        for index in range(first, last + 1):
            part_end = self.parts.part_end(index)
            self.parts.write(min(region.end, part_end or region.end) - 1, [b"\0"])

    # -- the hashing thread ----------------------------------------------------------------------
    def _next(self) -> list[Region]:
        """The complete regions at the front of the stream (waits for some; empty when closing and none is)."""
        with self._cond:
            while True:
                ready: list[Region] = []
                while self._open and self._open[0].state in ("done", "void"):
                    ready.append(self._open.popleft())
                if ready or self._closing:
                    return ready
                self._cond.wait()

    def _run(self) -> None:
        try:
            while regions := self._next():
                self._hash_to(regions[-1].end)
                for r in regions:
                    if r.state == "done":
                        entry = JournalEntry(r.digest, r.size, r.end)
                        self.written.append(entry)
                        self._entries.append(entry)
                self._since_sync += regions[-1].end - regions[0].start
                self._maybe_sync()
        except BaseException as exc:  # handed to the downloads on their next reserve, and to close()
            with self._cond:
                self.error = self.error or exc
                self._cond.notify_all()

    def _hash_to(self, target: int) -> None:
        while self.hashed < target:
            index, within = self.parts.locate(self.hashed)
            part_end = self.parts.part_end(index)
            stop = target if part_end is None else min(target, part_end)
            n = min(HASH_CHUNK, stop - self.hashed)
            self.parts.hash_into(self._hash, self.hashed, n)
            self.hashed += n
            if self.hashed == part_end:
                self.parts.close_part(index, within + n, self._hash.hexdigest())
                self._hash = hashlib.sha256()

    def _maybe_sync(self) -> None:
        due = self._since_sync >= SYNC_BYTES or time.monotonic() - self._last_sync >= SYNC_SECONDS
        if due and self._entries and self._syncs.empty():
            self._syncs.put((self._current_handle(), self._entries))
            self._entries = []
            self._since_sync = 0
            self._last_sync = time.monotonic()

    def _current_handle(self) -> int | None:
        """A duplicate descriptor of the part the hashing thread is in (None before any byte, or when that
        part is closed: a closed part was synced then)."""
        return self.parts.sync_handle(self.parts.locate(self.hashed - 1)[0]) if self.hashed else None

    def _durable(self, fd: int | None, entries: list[JournalEntry]) -> None:
        """fsync the part (``fd``, closed here), then journal ``entries``: never the other way round."""
        try:
            if fd is not None:
                os.fsync(fd)
            for entry in entries:
                self.journal.add(entry)
            self.journal.flush()
        finally:
            if fd is not None:
                os.close(fd)

    def _sync_loop(self) -> None:
        while (job := self._syncs.get()) is not None:
            try:
                self._durable(*job)
            except BaseException as exc:  # noqa: BLE001 - reported like the writer's errors
                self.error = self.error or exc

    # -- the end ---------------------------------------------------------------------------------
    def _stop_threads(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        self._syncs.put(None)
        self._syncer.join()

    def _journal_rest(self) -> None:
        """Sync the part being written and journal what the hashing thread passed since the last sync."""
        entries, self._entries = self._entries, []
        self._durable(self._current_handle(), entries)

    def close(self) -> None:
        """Hash the rest, close the last part, journal; raise the first error (journaling what was written)."""
        self._stop_threads()
        if self.error is None and self._open:
            self.error = RuntimeError(f"blob {self._open[0].digest} was not written whole")
        if self.error is not None:
            try:
                self._journal_rest()
            except BaseException:  # noqa: S110 - the first error is the one to report
                pass
            raise self.error
        index, within = self.parts.locate(self.hashed)
        if within or not self.parts.done:
            self.parts.close_part(index, within, self._hash.hexdigest())
        self._journal_rest()

    def abort(self) -> None:
        """Stop: what is complete at the front of the stream is still hashed and journaled for a re-run."""
        self._stop_threads()
        try:
            self._journal_rest()
        except BaseException:  # noqa: S110 - the original error is on its way
            pass
