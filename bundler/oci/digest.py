"""sha256 digests: compute them, and check bytes against one while they stream past."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_digest(data: bytes | memoryview) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hex_of(digest: str) -> str:
    """The hex part of ``sha256:<hex>``."""
    return digest.partition(":")[2]


def is_digest(text: str) -> bool:
    return bool(DIGEST_RE.match(text))


def verified(chunks: Iterable[bytes], digest: str, mismatch: Callable[[str], BaseException]) -> Iterator[bytes]:
    """Yield ``chunks`` while hashing them; at their end raise ``mismatch(actual)`` unless they hash to
    ``digest``. A consumer that stops early checks nothing (and stores nothing it must not)."""
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
        yield chunk
    actual = "sha256:" + h.hexdigest()
    if actual != digest:
        raise mismatch(actual)
