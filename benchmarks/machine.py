"""What this machine does to a benchmark that writes gigabytes, and how each timed command is given the
same start.

The CI machine is a virtual machine whose balloon device reports free memory to its host (virtio-balloon
free page reporting, about 100 MiB/s): a page freed here goes back to the host within seconds, and the next
write into it waits for the host to give it back. Writing a GiB into such pages (the page cache of a
bundle, or of a registry's uploads) costs 1.2-1.4 s more than writing it into pages freed a moment earlier
(:func:`first_touch`). Which command found pages still mapped was luck: the same copy took from 3.3 to 6.7
s within minutes, and the import that ran second in a round found fewer of them than the first.
:func:`settle` gives every timed command the same start: nothing left to write back, and as much memory as
it will write into touched just before, as on a machine without a balloon.
"""

from __future__ import annotations

import mmap
import os
import time


def settle(write_bytes: int) -> None:
    """Before a timed command: the page cache written back (a registry does not fsync, so the next
    command would otherwise pay for the last one's writeback), then ``write_bytes`` of memory touched and
    freed, so the command writes into pages the host has not taken back (as much as free memory allows,
    leaving 1 GiB: the page cache of the upstream's blobs stays)."""
    os.sync()
    size = min(write_bytes, _free_memory() - (1 << 30))
    if size > 0:
        _populate(size)


def _free_memory() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemFree:"):
                return int(line.split()[1]) * 1024
    return 0


def _populate(size: int) -> float:
    start = time.monotonic()
    with mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE):
        pass
    return time.monotonic() - start


def first_touch(size: int = 512 << 20) -> tuple[float, float]:
    """Seconds a GiB to write into memory the host took back and into memory freed a moment earlier: the
    difference is what a command pays, per GiB it writes, when it is the unlucky one. (Free memory is
    mostly the host's already: this machine has had it free for hours.)"""
    cold = _populate(size)
    warm = _populate(size)
    return cold * (1 << 30) / size, warm * (1 << 30) / size


def cpu_counters() -> tuple[float, float]:
    """Seconds of CPU the whole machine has been busy (user, system, interrupts: the kernel's writeback
    threads and a registry included) and seconds stolen by the hypervisor, since boot (``/proc/stat``).
    Differences over a command say what it cost the machine, whoever did the work, and how much of the
    machine the host took away meanwhile."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick
