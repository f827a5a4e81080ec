"""OpenPGP wire format (RFC 4880 section 4-6): ASCII armor, packet framing, MPIs, and the error types.

Split from :mod:`openpgp` (which reads keys and verifies signatures) to keep each module small.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

_ARMOR = re.compile(rb"-----BEGIN PGP ([A-Z ]+)-----\r?\n(.*?)-----END PGP \1-----", re.S)


class OpenPGPError(Exception):
    """The data is not what it must be; subclasses say how."""


class MalformedError(OpenPGPError):
    """Not an OpenPGP signed message or keyring, or a truncated/corrupt one."""


class UnsupportedError(OpenPGPError):
    """A valid construct this module does not verify (algorithm, version, weak hash)."""


class UnknownKeyError(OpenPGPError):
    """Signed, but by no key of the keyring; ``issuers`` are the key IDs/fingerprints it names."""

    def __init__(self, message: str, issuers: list[str]) -> None:
        super().__init__(message)
        self.issuers = issuers


class BadSignatureError(OpenPGPError):
    """Signed by a keyring key, but the signature does not match the data."""


def dearmor(data: bytes) -> bytes:
    """Binary OpenPGP from ASCII armor (every block, checksums checked); binary input is returned as is."""
    blocks = _ARMOR.findall(data)
    if not blocks:
        if data.lstrip().startswith(b"-----BEGIN PGP"):
            raise MalformedError("ASCII armor without its END line")
        return data
    out = b""
    for _, body in blocks:
        lines = [ln.strip() for ln in body.splitlines()]
        sep = lines.index(b"") if b"" in lines else 0  # armor headers end at the first empty line
        text = [ln for ln in lines[sep:] if ln]
        crc = next((ln for ln in text if ln.startswith(b"=")), None)
        raw = base64.b64decode(b"".join(ln for ln in text if not ln.startswith(b"=")), validate=True)
        if crc is not None and base64.b64decode(crc[1:]) != _crc24(raw).to_bytes(3, "big"):
            raise MalformedError("ASCII armor checksum does not match")
        out += raw
    return out


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, body) of every packet, old and new format, partial and indeterminate lengths."""
    pos = 0
    while pos < len(data):
        head = data[pos]
        if not head & 0x80:
            raise MalformedError(f"byte {pos}: not an OpenPGP packet header")
        if head & 0x40:
            tag, pos = head & 0x3F, pos + 1
            body = b""
            while True:
                length, partial, pos = _new_length(data, pos)
                body += take(data, pos, length)
                pos += length
                if not partial:
                    break
        else:
            tag, ltype, pos = (head >> 2) & 0x0F, head & 3, pos + 1
            if ltype == 3:
                length = len(data) - pos
            else:
                size = (1, 2, 4)[ltype]
                length = int.from_bytes(take(data, pos, size), "big")
                pos += size
            body = take(data, pos, length)
            pos += length
        yield tag, body


def _new_length(data: bytes, pos: int) -> tuple[int, bool, int]:
    first = take(data, pos, 1)[0]
    if first < 192:
        return first, False, pos + 1
    if first < 224:
        return ((first - 192) << 8) + take(data, pos + 1, 1)[0] + 192, False, pos + 2
    if first == 255:
        return int.from_bytes(take(data, pos + 1, 4), "big"), False, pos + 5
    return 1 << (first & 0x1F), True, pos + 1


def take(data: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(data) or n < 0:
        raise MalformedError("truncated OpenPGP data")
    return data[pos:pos + n]


def mpis(data: bytes, count: int) -> tuple[list[int], bytes]:
    out, pos = [], 0
    for _ in range(count):
        bits = int.from_bytes(take(data, pos, 2), "big")
        size = (bits + 7) // 8
        out.append(int.from_bytes(take(data, pos + 2, size), "big"))
        pos += 2 + size
    return out, data[pos:]


def mpi_bytes(data: bytes) -> tuple[bytes, bytes]:
    bits = int.from_bytes(take(data, 0, 2), "big")
    size = (bits + 7) // 8
    return take(data, 2, size), data[2 + size:]
