"""tar members as bytes, written without a ``tarfile`` object: a header, the data, padding to 512. Headers
hold no offsets, so a member can be compressed on its own (one zstd frame) and the front, written last,
still continues into the data parts written first."""

from __future__ import annotations

import tarfile

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
