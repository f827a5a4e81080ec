"""Byte buffers for blobs held in memory while a stream reads on, reused from blob to blob within a
budget. Memory fresh from the system costs a page fault and a zeroed page every 4 KiB: allocating each
blob anew made that a third of a GB import's reading CPU."""

from __future__ import annotations

import threading

GRAIN = 1 << 20  # buffers are whole MiBs, so one freed by a blob fits the next of about its size


class BufferPool:
    """``take`` blocks until the buffers in use leave room; one request larger than the budget waits for
    every other buffer to come back, then goes alone."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0  # bytes of every buffer, in use or free
        self._free: list[bytearray] = []
        self._cond = threading.Condition()

    def take(self, size: int) -> memoryview:
        """A buffer of exactly ``size`` bytes (its contents are whatever the last user left)."""
        want = -(-max(size, 1) // GRAIN) * GRAIN
        with self._cond:
            while True:
                fits = [b for b in self._free if len(b) >= size]
                if fits:
                    buf = min(fits, key=len)
                    self._free.remove(buf)
                    return memoryview(buf)[:size]
                while self._free and self.held + want > self.limit:
                    self.held -= len(self._free.pop(self._free.index(max(self._free, key=len))))
                if self.held == 0 or self.held + want <= self.limit:
                    self.held += want
                    return memoryview(bytearray(want))[:size]
                self._cond.wait()

    def give(self, view: memoryview) -> None:
        """Back to the pool, once nothing reads ``view`` any more."""
        buf = view.obj
        assert isinstance(buf, bytearray)
        with self._cond:
            self._free.append(buf)
            self._cond.notify_all()
