"""zstd frames read one by one: stored frames (the layers export did not compress again: raw blocks only)
are passed through without the decompressor; every other frame goes through it. Frames are delimited by
their block headers (RFC 8878), so nothing needs decoding to find where one ends."""

from __future__ import annotations

import io
from typing import Any

import zstandard

MAGIC = 0xFD2FB528
SKIPPABLE = 0x184D2A50
RAW, RLE, COMPRESSED = 0, 1, 2


class ZstdFrames(io.RawIOBase):
    """Decompressed bytes of the zstd frames in ``raw`` (concatenated)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        super().__init__()
        self.raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._state = "frame"  # frame | block | raw | done
        self._left = 0  # bytes left in the current raw block
        self._last = False
        self._checksum = False
        self._dobj: Any = None
        self._out = b""
        self.consumed = 0
        """Compressed bytes taken from ``raw`` so far: where in the input the data handed out comes from
        (give or take one block of a compressed frame)."""

    def readable(self) -> bool:
        return True

    def _exact(self, n: int) -> bytes:
        data = self.raw.read(n)
        self.consumed += len(data)
        if len(data) != n:
            raise zstandard.ZstdError("truncated zstd frame")
        return data

    def _frame(self) -> bool:
        """Start the next frame; False at the end of the input."""
        head = self.raw.read(4)
        self.consumed += len(head)
        if not head:
            self._state = "done"
            return False
        if len(head) < 4:
            raise zstandard.ZstdError("truncated zstd frame")
        magic = int.from_bytes(head, "little")
        if magic & 0xFFFFFFF0 == SKIPPABLE:
            self._exact(int.from_bytes(self._exact(4), "little"))
            return True
        if magic != MAGIC:
            raise zstandard.ZstdError("not a zstd frame (bad magic number)")
        fhd = self._exact(1)[0]
        single, checksum, dict_flag, fcs_flag = fhd & 0x20, fhd & 0x04, fhd & 0x03, fhd >> 6
        rest = (0 if single else 1) + (0, 1, 2, 4)[dict_flag] + (0 if fcs_flag == 0 and not single else (1, 2, 4, 8)[fcs_flag])
        header = head + bytes([fhd]) + self._exact(rest)
        if fhd == 0xE0:  # what export writes for stored layers: single segment, 8-byte size, no checksum
            self._dobj = None
        else:
            self._dobj = self._dctx.decompressobj()
            self._out = self._dobj.decompress(header)
        self._checksum = bool(checksum)
        self._state = "block"
        return True

    def _block(self) -> None:
        head = int.from_bytes(self._exact(3), "little")
        last, kind, size = head & 1, (head >> 1) & 3, head >> 3
        self._last = bool(last)
        if self._dobj is None:
            if kind != RAW:
                raise zstandard.ZstdError("a stored zstd frame holds a compressed block")
            self._left = size
            self._state = "raw"
            if size == 0:
                self._end_block()
            return
        payload = self._exact(1 if kind == RLE else size)
        self._out += self._dobj.decompress(head.to_bytes(3, "little") + payload)
        if last:
            if self._checksum:
                self._out += self._dobj.decompress(self._exact(4))
            self._state = "frame"

    def _end_block(self) -> None:
        self._state = "frame" if self._last else "block"

    def read(self, n: int | None = -1) -> bytes:
        """At most ``n`` bytes: consecutive stored blocks are gathered into one buffer (one copy), so the
        layers above handle a megabyte at a time, not 128 KiB."""
        want = (1 << 20) if n is None or n < 0 else n
        parts: list[bytes] = []
        got = 0
        while got < want and self._state != "done":
            if self._out:
                piece, self._out = self._out[:want - got], self._out[want - got:]
            elif self._state == "raw":
                piece = self.raw.read(min(want - got, self._left))
                self.consumed += len(piece)
                if not piece:
                    raise zstandard.ZstdError("truncated zstd frame")
                self._left -= len(piece)
                if not self._left:
                    self._end_block()
            elif self._state == "block":
                self._block()
                continue
            elif parts:
                break  # a frame ends here: hand out what we have
            else:
                self._frame()
                continue
            parts.append(piece)
            got += len(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, b: Any) -> int:
        """Stored blocks are read straight into ``b`` (no copy on the way); anything else goes by ``read``."""
        view = memoryview(b).cast("B")
        got = 0
        while got < len(view) and self._state != "done":
            if self._state == "block" and self._dobj is None:
                self._block()  # the next stored block's header
                continue
            if self._out or self._state != "raw":
                if got:
                    break  # hand out what the stored blocks gave; the next call takes the frame on
                data = self.read(len(view))
                view[: len(data)] = data
                return len(data)
            n = self.raw.readinto(view[got:got + min(len(view) - got, self._left)])
            if not n:
                raise zstandard.ZstdError("truncated zstd frame")
            self.consumed += n
            self._left -= n
            got += n
            if not self._left:
                self._end_block()
        return got
