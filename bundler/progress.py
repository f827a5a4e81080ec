"""How pipelines report while they run, without printing themselves: lines through ``say`` and byte
counts through bars the caller makes. The CLI turns these into tqdm bars on a terminal; tests and the
library default to nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Printer = Callable[[str], None]


class Bar(Protocol):
    def update(self, n: int) -> object: ...
    def close(self) -> None: ...


BarFactory = Callable[[str, int], Bar]
"""``bars(name, total_bytes)``: a progress bar for one phase (pull, pack, push)."""


class NoBar:
    def update(self, n: int) -> None:
        return None

    def close(self) -> None:
        return None


def no_bars(_name: str, _total: int) -> Bar:
    return NoBar()


def human(n: float) -> str:
    """Bytes for people: 512 B, 1.5 KiB, 3.2 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
