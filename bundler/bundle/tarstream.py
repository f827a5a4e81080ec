"""tar members as bytes, written without a ``tarfile`` object: a header, the data, padding to 512. Headers
hold no offsets, so a member can be compressed on its own (one zstd frame) and the front, written last,
still continues into the data parts written first."""

from __future__ import annotations

import tarfile

import zstandard

BLOCK = tarfile.BLOCKSIZE
END_MARKER = b"\0" * (2 * BLOCK)


def header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def member(name: str, data: bytes) -> bytes:
    return header(name, len(data)) + data + padding(len(data))


def blob_member(digest: str) -> str:
    return f"blobs/sha256/{digest.split(':', 1)[1]}"


RAW_BLOCK = 128 << 10
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PRECOMPRESSED = (b"\x1f\x8b", ZSTD_MAGIC, b"BZh", b"\xfd7zXZ")


def precompressed(first: bytes) -> bool:
    """A blob that starts like gzip, zstd, bzip2 or xz: compressing it again only costs time."""
    return first.startswith(_PRECOMPRESSED)


Pieces = list[bytes | memoryview]


class RawFrame:
    """One zstd frame of raw (stored) blocks holding exactly ``total`` bytes: what ``zstd -d`` and every
    zstd reader decode, at the cost of framing instead of a compression. Blocks point into the data
    given (no copy) but for the few bytes that straddle two calls."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._rest = b""

    def header(self) -> bytes:
        # single segment, 8-byte content size, no checksum, no dictionary
        return ZSTD_MAGIC + b"\xe0" + self.total.to_bytes(8, "little")

    def _block(self, out: Pieces, data: bytes | memoryview) -> None:
        self.done += len(data)
        if self.done > self.total:
            raise ValueError(f"raw frame of {self.total} bytes got more")
        out += [(int(self.done == self.total) | (len(data) << 3)).to_bytes(3, "little"), data]

    def feed(self, data: bytes) -> Pieces:
        """Blocks for ``data``; a partial block waits for the next call (or :meth:`finish`)."""
        out: Pieces = []
        view = memoryview(data)
        if self._rest:
            take = RAW_BLOCK - len(self._rest)
            self._rest += bytes(view[:take])
            view = view[take:]
            if len(self._rest) < RAW_BLOCK:
                return out
            self._block(out, self._rest)
            self._rest = b""
        while len(view) >= RAW_BLOCK:
            self._block(out, view[:RAW_BLOCK])
            view = view[RAW_BLOCK:]
        self._rest = bytes(view)
        return out

    def finish(self) -> Pieces:
        if self.done + len(self._rest) != self.total:
            raise ValueError(f"raw frame of {self.total} bytes got {self.done + len(self._rest)}")
        out: Pieces = []
        if self._rest:
            self._block(out, self._rest)
            self._rest = b""
        return out


FRAME_HEADER = 13
"""A stored frame's header: magic, descriptor, 8-byte content size."""
SKIPPABLE_MAGIC = (0x184D2A50).to_bytes(4, "little")
SKIPPABLE_MAX = 0xFFFFFFFF + 8


def stored_length(name: str, size: int) -> int:
    """Bytes of the stored frame :class:`MemberFrame` writes for a precompressed blob of ``size`` bytes:
    known before the first byte arrives, so its place in the stream can be reserved."""
    total = len(header(name, size)) + size + (-size % BLOCK)
    return FRAME_HEADER + 3 * -(-total // RAW_BLOCK) + total


def skippable_headers(length: int) -> list[tuple[int, bytes]]:
    """(offset, header) of the zstd skippable frames that together fill ``length`` bytes (>= 8): every
    zstd reader passes over them, so a place reserved for a blob whose download failed stays a valid stream."""
    out: list[tuple[int, bytes]] = []
    at = 0
    while length - at:
        n = min(length - at, SKIPPABLE_MAX)
        if length - at - n and length - at - n < 8:  # the remainder must hold a header of its own
            n -= 8
        out.append((at, SKIPPABLE_MAGIC + (n - 8).to_bytes(4, "little")))
        at += n
    return out


class MemberFrame:
    """One tar member as one zstd frame: compressed, or stored when the data is already compressed."""

    def __init__(self, cctx: zstandard.ZstdCompressor | None, name: str, size: int, first: bytes,
                 stored: bool = False) -> None:
        self.hdr = header(name, size)
        self.pad = padding(size)
        total = len(self.hdr) + size + len(self.pad)
        self.raw = RawFrame(total) if stored or cctx is None or precompressed(first) else None
        self.cobj = None if self.raw is not None or cctx is None else cctx.compressobj(size=total)

    def start(self) -> Pieces:
        if self.raw is not None:
            return [self.raw.header(), *self.raw.feed(self.hdr)]
        assert self.cobj is not None
        return [self.cobj.compress(self.hdr)]

    def feed(self, data: bytes) -> Pieces:
        if self.raw is not None:
            return self.raw.feed(data)
        assert self.cobj is not None
        return [self.cobj.compress(data)]

    def finish(self) -> Pieces:
        if self.raw is not None:
            return [*self.raw.feed(self.pad), *self.raw.finish()]
        assert self.cobj is not None
        return [self.cobj.compress(self.pad) + self.cobj.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)]
