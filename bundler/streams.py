"""Small stream adapters."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any


class ChunkReader(io.RawIOBase):
    """A read()-able file over an iterator of byte chunks (for uploads and tar reading).

    Keeps the current chunk and an offset, so reading small pieces of large chunks copies each byte once.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self.chunks = chunks
        self.cur = b""
        self.pos = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while self.pos >= len(self.cur):
            try:
                self.cur = next(self.chunks)
            except StopIteration:
                self.cur, self.pos = b"", 0
                return False
            self.pos = 0
        return True

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            rest = [self.cur[self.pos:], *self.chunks]
            self.cur, self.pos = b"", 0
            return b"".join(rest)
        out: list[bytes] = []
        need = n
        while need > 0 and self._fill():
            piece = self.cur[self.pos:self.pos + need]
            self.pos += len(piece)
            need -= len(piece)
            out.append(piece)
        return out[0] if len(out) == 1 else b"".join(out)

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
