"""Read files straight out of an image's layers, whiteouts applied, without unpacking to disk."""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import zstandard

from . import mediatypes
from .errors import BundlerError
from .reference import Reference
from .registry.client import Manifest
from .streams import ChunkReader

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class BlobReader(Protocol):
    def get_manifest(self, ref: Reference) -> Manifest: ...
    def iter_blob(self, ref: Reference, digest: str, size: int) -> Iterator[bytes]: ...


def normalise(path: str) -> str:
    """Tar member names to absolute-less posix paths: ``./a/b`` and ``/a/b`` become ``a/b``."""
    p = posixpath.normpath("/" + path).lstrip("/")
    return p


def platform_manifest(source: BlobReader, ref: Reference, arch: str = "amd64") -> tuple[Reference, Manifest]:
    """The single-platform manifest to read files from: ``arch`` of a list, else the first child."""
    m = source.get_manifest(ref)
    if not m.is_list:
        return ref, m
    kids = mediatypes.children(m.doc)
    if not kids:
        raise BundlerError(f"{ref} is an empty manifest list")
    pick = next((k for k in kids if (k.get("platform") or {}).get("architecture") == arch
                 and (k.get("platform") or {}).get("os", "linux") == "linux"), kids[0])
    child = ref.with_tag(None).with_digest(pick["digest"])
    return child, source.get_manifest(child)


def _open_layer(raw: ChunkReader) -> Any:
    """Uncompressed view of a layer stream: gzip, zstd or plain tar, by magic bytes."""
    buffered = io.BufferedReader(raw, 1 << 20)
    magic = buffered.peek(4)[:4]
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered)
    if magic == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
    return buffered


def read_files(source: BlobReader, ref: Reference, want: Callable[[str], bool],
               arch: str = "amd64") -> dict[str, bytes]:
    """Regular files whose normalised path satisfies ``want``, as the image's merged filesystem
    shows them (upper layers win, whiteouts and opaque directories applied). Layers stream."""
    img_ref, m = platform_manifest(source, ref, arch)
    layers: list[dict[str, Any]] = list(m.doc.get("layers") or [])
    found: dict[str, bytes] = {}
    shadowed: set[str] = set()   # paths present in an upper layer
    deleted: set[str] = set()    # whiteouts and upper non-directories: hide the path and its subtree
    opaque: set[str] = set()     # directories whose lower contents are hidden
    for layer in reversed(layers):
        l_shadowed: set[str] = set()
        l_deleted: set[str] = set()
        l_opaque: set[str] = set()
        raw = ChunkReader(source.iter_blob(img_ref, layer["digest"], int(layer.get("size", -1))))
        stream = _open_layer(raw)
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    path = normalise(member.name)
                    base = posixpath.basename(path)
                    parent = posixpath.dirname(path)
                    if base == OPAQUE:
                        l_opaque.add(parent)
                        continue
                    if base.startswith(WHITEOUT):
                        l_deleted.add(posixpath.join(parent, base[len(WHITEOUT):]))
                        continue
                    if _is_hidden(path, shadowed, deleted, opaque):
                        continue
                    l_shadowed.add(path)
                    if not member.isdir():
                        l_deleted.add(path)
                    if member.isfile() and want(path):
                        fh = tar.extractfile(member)
                        found[path] = fh.read() if fh else b""
            while raw.read(1 << 20):  # read to the end so the blob is verified (and kept by a caching source)
                pass
        except (tarfile.TarError, OSError, EOFError, zstandard.ZstdError) as exc:
            raise BundlerError(f"layer {layer['digest']} of {ref} is not a readable tar: {exc}") from None
        shadowed |= l_shadowed
        deleted |= l_deleted
        opaque |= l_opaque
    return found


def _is_hidden(path: str, shadowed: set[str], deleted: set[str], opaque: set[str]) -> bool:
    if path in shadowed or path in deleted:
        return True
    parts = path.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix in deleted or prefix in opaque:
            return True
    return False


def image_config(source: BlobReader, ref: Reference, arch: str = "amd64") -> dict[str, Any]:
    """The image's config JSON (labels live at ``config.Labels``)."""
    import json

    img_ref, m = platform_manifest(source, ref, arch)
    cfg = m.doc["config"]
    return dict(json.loads(b"".join(source.iter_blob(img_ref, cfg["digest"], int(cfg.get("size", -1))))))
