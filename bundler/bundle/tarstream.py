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


class RawFrame:
    """One zstd frame of raw (stored) blocks holding exactly ``total`` bytes: what ``zstd -d`` and every
    zstd reader decode, at the cost of a copy instead of a compression."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.written = 0
        self._pending: list[bytes] = []
        self._held = 0

    def header(self) -> bytes:
        # single segment, 8-byte content size, no checksum, no dictionary
        return ZSTD_MAGIC + b"\xe0" + self.total.to_bytes(8, "little")

    def _block(self, data: memoryview, last: bool) -> list[bytes | memoryview]:
        return [(int(last) | (len(data) << 3)).to_bytes(3, "little"), data]

    def feed(self, data: bytes) -> bytes:
        """Blocks for ``data``; the block that ends the frame is kept back for :meth:`finish`."""
        self._pending.append(data)
        self._held += len(data)
        if self._held <= RAW_BLOCK:
            return b""
        view = memoryview(b"".join(self._pending))
        out: list[bytes | memoryview] = []
        while len(view) > RAW_BLOCK:
            out += self._block(view[:RAW_BLOCK], False)
            self.written += RAW_BLOCK
            view = view[RAW_BLOCK:]
        self._pending, self._held = [bytes(view)], len(view)
        return b"".join(out)

    def finish(self) -> bytes:
        rest = memoryview(b"".join(self._pending))
        if self.written + len(rest) != self.total:
            raise ValueError(f"raw frame of {self.total} bytes got {self.written + len(rest)}")
        out: list[bytes | memoryview] = []
        while len(rest) > RAW_BLOCK:
            out += self._block(rest[:RAW_BLOCK], False)
            rest = rest[RAW_BLOCK:]
        out += self._block(rest, True)
        return b"".join(out)


class MemberFrame:
    """One tar member as one zstd frame: compressed, or stored when the data is already compressed."""

    def __init__(self, cctx: zstandard.ZstdCompressor, name: str, size: int, first: bytes) -> None:
        self.hdr = header(name, size)
        self.pad = padding(size)
        total = len(self.hdr) + size + len(self.pad)
        self.raw = RawFrame(total) if precompressed(first) else None
        self.cobj = None if self.raw is not None else cctx.compressobj(size=total)

    def start(self) -> bytes:
        if self.raw is not None:
            return self.raw.header() + self.raw.feed(self.hdr)
        assert self.cobj is not None
        return self.cobj.compress(self.hdr)

    def feed(self, data: bytes) -> bytes:
        if self.raw is not None:
            return self.raw.feed(data)
        assert self.cobj is not None
        return self.cobj.compress(data)

    def finish(self) -> bytes:
        if self.raw is not None:
            return self.raw.feed(self.pad) + self.raw.finish()
        assert self.cobj is not None
        return self.cobj.compress(self.pad) + self.cobj.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)
