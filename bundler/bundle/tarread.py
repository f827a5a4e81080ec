"""A tar stream read once, in order, with as few copies as it takes: headers parsed by ``tarfile``
(ustar, PAX and GNU long names), member data handed out as the chunks the decompressor produced.
``tarfile``'s own stream mode copies every byte several times; this reads a GB in a fraction of it."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BLOCK = tarfile.BLOCKSIZE
ZERO_BLOCK = b"\0" * BLOCK


@dataclass
class Member:
    name: str
    size: int
    type: bytes

    def isfile(self) -> bool:
        return self.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


class TarReader:
    """``next()`` gives each member; ``data()`` its bytes, to be read (or left) before the next ``next()``.
    The stream may end after any member without an end marker (the front of a bundle)."""

    def __init__(self, read: Callable[[int], bytes], readinto: Callable[[Any], int]) -> None:
        self._read = read
        self._readinto = readinto
        self._left = 0  # bytes of the current member not read yet
        self._pad = 0
        self.offset = 0

    def _exact(self, n: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        while got < n:
            data = self._read(n - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        self.offset += got
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _skip_rest(self) -> None:
        while self._left:
            data = self._read(min(self._left, 1 << 20))
            if not data:
                raise tarfile.ReadError("unexpected end of data inside a member")
            self._left -= len(data)
            self.offset += len(data)
        if self._pad:
            if len(self._exact(self._pad)) != self._pad:
                raise tarfile.ReadError("unexpected end of data after a member")
            self._pad = 0

    def next(self) -> Member | None:
        self._skip_rest()
        pax: dict[str, str] = {}
        long_name: str | None = None
        while True:
            buf = self._exact(BLOCK)
            if not buf or buf == ZERO_BLOCK:
                return None  # the end (marker, or none: a front)
            if len(buf) < BLOCK:
                raise tarfile.ReadError("truncated tar header")
            info = tarfile.TarInfo.frombuf(buf, "utf-8", "surrogateescape")
            if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME):
                data = self._exact(info.size)
                self._exact(-info.size % BLOCK)
                if info.type == tarfile.GNUTYPE_LONGNAME:
                    long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                elif info.type == tarfile.XHDTYPE:
                    pax.update(_pax_records(data))
                continue
            name = pax.get("path") or long_name or info.name
            size = int(pax["size"]) if "size" in pax else info.size
            stored = size if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE) else 0
            self._left, self._pad = stored, -stored % BLOCK
            return Member(name, size, info.type)

    def read(self, n: int = -1) -> bytes:
        """The current member's next bytes (at most ``n``; b"" at its end)."""
        want = self._left if n < 0 else min(n, self._left)
        if want <= 0:
            return b""
        data = self._read(want)
        if not data:
            raise tarfile.ReadError("unexpected end of data inside a member")
        self._left -= len(data)
        self.offset += len(data)
        return data

    def readinto(self, b: Any) -> int:
        """The current member's next bytes into ``b`` (0 at its end), straight from the stream."""
        view = memoryview(b).cast("B")[: self._left]
        if not view:
            return 0
        n = self._readinto(view)
        if not n:
            raise tarfile.ReadError("unexpected end of data inside a member")
        self._left -= n
        self.offset += n
        return n

    def data(self) -> io.RawIOBase:
        return _MemberData(self)


def _pax_records(data: bytes) -> dict[str, str]:
    """``"%d %s=%s\\n"`` records (POSIX.1-2001)."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos:pos + 1] != b"\0":
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        key, _, value = data[space + 1:pos + length - 1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


class _MemberData(io.RawIOBase):
    def __init__(self, reader: TarReader) -> None:
        super().__init__()
        self.reader = reader

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            parts = []
            while chunk := self.reader.read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        return self.reader.read(n)

    def readinto(self, b: Any) -> int:
        return self.reader.readinto(b)
