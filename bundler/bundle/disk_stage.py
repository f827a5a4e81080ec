"""The disk end of the bundle writer: one thread hashes and writes compressed frames into the data parts,
a second makes them durable (fsync while writing goes on) and only then journals the blobs they hold, so
the journal never names a blob a crash could lose."""

from __future__ import annotations

import os
import queue
import threading
import time

from .dataparts import DataParts
from .journal import Journal, JournalEntry
from .tarstream import Pieces

SYNC_BYTES = 256 << 20
SYNC_SECONDS = 1.0


class DiskStage:
    """The thread that hashes and writes compressed bytes into the parts; a second one makes them durable
    every second (fsync of the part being written, while writing goes on) and only then journals the blobs
    they hold."""

    def __init__(self, parts: DataParts, journal: Journal) -> None:
        self.parts = parts
        self.journal = journal
        self.error: BaseException | None = None
        self._q: queue.Queue[Pieces | JournalEntry | int | None] = queue.Queue(maxsize=16)
        self._syncs: queue.Queue[tuple[int | None, list[JournalEntry]] | None] = queue.Queue(maxsize=1)
        self._entries: list[JournalEntry] = []
        self._since_sync = 0
        self._last_sync = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="bundle-disk", daemon=True)
        self._syncer = threading.Thread(target=self._sync_loop, name="bundle-sync", daemon=True)
        self._thread.start()
        self._syncer.start()

    def put(self, item: Pieces | JournalEntry | int) -> None:
        """Bytes to append, a journal entry (its frame is complete), or an offset to cut back to."""
        if self.error is not None:
            raise self.error
        self._q.put(item)

    def _run(self) -> None:
        while (item := self._q.get()) is not None:
            if self.error is not None:
                continue
            try:
                self._handle(item)
            except BaseException as exc:  # handed to the writer on its next put, and to close()
                self.error = exc

    def _handle(self, item: Pieces | JournalEntry | int) -> None:
        if isinstance(item, list):
            for piece in item:
                self.parts.write(piece)
                self._since_sync += len(piece)
        elif isinstance(item, JournalEntry):
            self._entries.append(item)
            due = self._since_sync >= SYNC_BYTES or time.monotonic() - self._last_sync >= SYNC_SECONDS
            if due and self._syncs.empty():
                self._syncs.put((self.parts.sync_handle(), self._entries))
                self._entries = []
                self._since_sync = 0
                self._last_sync = time.monotonic()
        else:
            self._entries = [e for e in self._entries if e.end <= item]
            self.parts.cut(item)

    def _sync_loop(self) -> None:
        while (job := self._syncs.get()) is not None:
            fd, entries = job
            try:
                if fd is not None:
                    os.fsync(fd)
                for entry in entries:
                    self.journal.add(entry)
                self.journal.flush()
            except BaseException as exc:  # noqa: BLE001 - reported like the writer's errors
                self.error = self.error or exc
            finally:
                if fd is not None:
                    os.close(fd)

    def _final_sync(self) -> None:
        self._syncs.put(None)
        self._syncer.join()
        self.parts.sync()
        for entry in self._entries:
            self.journal.add(entry)
        self._entries = []
        self.journal.flush()

    def close(self) -> None:
        """Write what is queued and sync; after a failure still journal the blobs that were written whole."""
        self._q.put(None)
        self._thread.join()
        if self.error is not None:
            try:
                self._final_sync()
            except BaseException:  # noqa: S110 - the first error is the one to report
                pass
            raise self.error
        self._final_sync()
        if self.error is not None:
            raise self.error
