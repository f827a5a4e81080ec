"""The front ``BUNDLE``: what an importer needs before the first blob, written last at commit.

tar+zstd of ``oci-layout``, ``index.json``, ``bundler.json`` and every carried manifest (as
``blobs/sha256/<hex>``), with no tar end marker: the data parts continue the same tar stream. Written to
a temporary name and renamed, so a front that exists is whole.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import zstandard

from ..errors import disk_error
from ..oci.layout import LAYOUT_BYTES
from .tarstream import blob_member, member

INDEX_FILE = "index.json"


@dataclass(frozen=True)
class FrontFile:
    size: int
    sha256: str
    files: dict[str, str]
    """sha256 of each non-blob file of the front (oci-layout, index.json, bundler.json)."""


def write_front(bundle: Path, index: bytes, metadata: bytes, manifests: Iterable[tuple[str, bytes]],
                level: int = 3) -> FrontFile:
    from .metadata import METADATA_FILE

    files = {"oci-layout": LAYOUT_BYTES, INDEX_FILE: index, METADATA_FILE: metadata}
    tmp = bundle.with_name(f".{bundle.name}.front.tmp")
    h = hashlib.sha256()
    size = 0
    cctx = zstandard.ZstdCompressor(level=level, write_checksum=True)
    try:
        with open(tmp, "wb") as raw:
            with cctx.stream_writer(raw, closefd=False) as zw:
                for name, data in files.items():
                    zw.write(member(name, data))
                for digest, data in manifests:
                    zw.write(member(blob_member(digest), data))
            raw.flush()
            os.fsync(raw.fileno())
        with open(tmp, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
        os.replace(tmp, bundle)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_error(exc, "the bundle front", bundle) from exc
    return FrontFile(size, h.hexdigest(), {name: hashlib.sha256(data).hexdigest() for name, data in files.items()})
