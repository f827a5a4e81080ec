"""What this machine does to a benchmark that writes gigabytes, and how each timed command is given the
same start.

The CI machine is a virtual machine whose balloon device reports free memory to its host (virtio-balloon
free page reporting): a page freed here goes back to the host within a second or two, and the next write
into it waits for the host to give it back. Writing a GiB into such pages (the page cache of a bundle, or
of a registry's uploads) costs about 1.2-1.4 s more than writing it into pages freed a moment earlier
(:func:`first_touch`). Which command finds pages still mapped was luck: the same export took from 3.3 to
6.7 s depending on what had just been deleted. :func:`settle` gives every timed command the same start:
nothing left to write back, and no recently freed memory to profit from.
"""

from __future__ import annotations

import mmap
import os
import time

SETTLE_SECONDS = 5.0
"""Freed pages were back with the host (as slow to write as never-used ones) 2 s after being freed."""


def settle(seconds: float = SETTLE_SECONDS) -> None:
    """Before a timed command: the page cache written back (a registry does not fsync, so the next
    command would otherwise pay for the last one's writeback), then a pause for freed memory to go back
    to the host."""
    os.sync()
    time.sleep(seconds)


def _populate(size: int) -> float:
    start = time.monotonic()
    with mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE):
        pass
    return time.monotonic() - start


def first_touch(size: int = 512 << 20) -> tuple[float, float]:
    """Seconds a GiB to write into memory the host took back (after a settle) and into memory freed a
    moment earlier: the difference is what a command pays, per GiB it writes, when it is the unlucky one."""
    settle()
    cold = _populate(size)
    warm = _populate(size)
    return cold * (1 << 30) / size, warm * (1 << 30) / size
