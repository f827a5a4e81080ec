"""A byte budget shared by threads (blobs buffered in memory while the stream reads on)."""

from __future__ import annotations

import threading


class Budget:
    """``acquire`` blocks until enough is free; one request larger than the budget waits for everything
    else to be released, then goes alone."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.cond = threading.Condition()

    def acquire(self, n: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.used == 0 or self.used + n <= self.limit)
            self.used += n

    def release(self, n: int) -> None:
        with self.cond:
            self.used -= n
            self.cond.notify_all()
