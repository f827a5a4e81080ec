"""Read files straight out of an image's layers, whiteouts applied, without unpacking to disk: how
planners look inside a release, a samples operator or a catalog image."""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import tarfile
from collections.abc import Callable, Collection
from typing import Any

import zstandard

from ..errors import BundlerError
from ..oci import Manifest, Pinned, Reference
from ..oci.platform import go_arch
from ..streams import ChunkReader
from ..transport import Source

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def normalise(path: str) -> str:
    """Tar member names to absolute-less posix paths: ``./a/b`` and ``/a/b`` become ``a/b``."""
    p = posixpath.normpath("/" + path).lstrip("/")
    return p


def platform_manifest(source: Source, ref: Reference, arch: str = "amd64") -> tuple[Pinned, Manifest]:
    """The single-platform manifest to read files from: ``arch`` of a list, else the first child."""
    m = source.get_manifest(ref)
    if not m.is_list:
        return ref.pin(m.digest), m
    if not m.children:
        raise BundlerError(f"{ref} is an empty manifest list")
    arch = go_arch(arch)
    pick = next((k for k in m.children if k.platform and k.platform.architecture == arch
                 and k.platform.os == "linux"), m.children[0])
    child = ref.pin(pick.digest)
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


def read_files(source: Source, ref: Reference, want: Callable[[str], bool] | Collection[str],
               arch: str = "amd64") -> dict[str, bytes]:
    """Regular files whose normalised path satisfies ``want``, as the image's merged filesystem
    shows them (upper layers win, whiteouts and opaque directories applied). Layers stream, the top one
    first. ``want`` as the exact paths: the layers below the one that settles the last of them (found, or
    hidden by a whiteout) are not read, since nothing in them can show through; a release's files are in
    its top layer, and its base image's layers are left to the pull instead of being read before it."""
    img_ref, m = platform_manifest(source, ref, arch)
    layers = m.layers
    paths: frozenset[str] | None = None
    if callable(want):
        wanted = want
    else:
        paths = frozenset(want)
        wanted = paths.__contains__
    found: dict[str, bytes] = {}
    shadowed: set[str] = set()   # paths present in an upper layer
    deleted: set[str] = set()    # whiteouts and upper non-directories: hide the path and its subtree
    opaque: set[str] = set()     # directories whose lower contents are hidden
    for layer in reversed(layers):
        if paths is not None and all(p in found or _is_hidden(p, shadowed, deleted, opaque) for p in paths):
            break
        l_shadowed: set[str] = set()
        l_deleted: set[str] = set()
        l_opaque: set[str] = set()
        raw = ChunkReader(source.open_blob(img_ref.repo, layer))
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
                    if member.isfile() and wanted(path):
                        fh = tar.extractfile(member)
                        found[path] = fh.read() if fh else b""
            while raw.read(1 << 20):  # read to the end: the digest is checked there
                pass
        except (tarfile.TarError, OSError, EOFError, zstandard.ZstdError) as exc:
            raise BundlerError(f"layer {layer.digest} of {ref} is not a readable tar: {exc}") from exc
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


def image_config(source: Source, ref: Reference, arch: str = "amd64") -> dict[str, Any]:
    """The image's config JSON (labels live at ``config.Labels``)."""
    img_ref, m = platform_manifest(source, ref, arch)
    if m.config is None:
        raise BundlerError(f"{ref} has no image config")
    return dict(json.loads(b"".join(source.open_blob(img_ref.repo, m.config))))
