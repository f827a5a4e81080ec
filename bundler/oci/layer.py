"""ONE deterministic layer builder: the catalog rebuild, the bootstrap registry image and the test content
all make their layers here. Same files in, same bytes out: fixed mtime, uid/gid 0, sorted entries, parent
directories made explicit, gzip without a name or timestamp."""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from .descriptor import Descriptor
from .digest import sha256_digest

WHITEOUT = ".wh."


@dataclass(frozen=True)
class File:
    """A file's content and mode (plain ``bytes`` in a files mapping mean mode 0644)."""

    data: bytes
    mode: int = 0o644


Files = Mapping[str, "bytes | File"]


def _info(name: str, kind: bytes, mode: int, mtime: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def tar_bytes(files: Files, *, whiteouts: Iterable[str] = (), mtime: int = 0,
              dir_modes: Mapping[str, int] | None = None) -> bytes:
    """A tar of ``files`` (``{path: bytes | File}``) plus whiteout markers for ``whiteouts`` (paths the
    layer deletes from the layers below). Parent directories are 0755 unless ``dir_modes`` says else."""
    buf = io.BytesIO()
    made: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def parents(path: str) -> None:
            parent = posixpath.dirname(path)
            if parent and parent not in made:
                parents(parent)
                made.add(parent)
                tar.addfile(_info(parent + "/", tarfile.DIRTYPE, (dir_modes or {}).get(parent, 0o755), mtime))

        for path in sorted(p.strip("/") for p in whiteouts):
            parents(path)
            marker = posixpath.join(posixpath.dirname(path), WHITEOUT + posixpath.basename(path))
            tar.addfile(_info(marker, tarfile.REGTYPE, 0o644, mtime))
        for path in sorted(files):
            entry = files[path]
            f = entry if isinstance(entry, File) else File(entry)
            clean = path.strip("/")
            parents(clean)
            tar.addfile(_info(clean, tarfile.REGTYPE, f.mode, mtime, len(f.data)), io.BytesIO(f.data))
    return buf.getvalue()


@dataclass(frozen=True)
class Layer:
    """An uncompressed tar and its gzip form: ``digest`` is of the gzip, ``diff_id`` of the tar."""

    tar: bytes
    created_by: str = ""
    compresslevel: int = 6

    @cached_property
    def gz(self) -> bytes:
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=self.compresslevel) as fh:
            fh.write(self.tar)
        return out.getvalue()

    @cached_property
    def digest(self) -> str:
        return sha256_digest(self.gz)

    @cached_property
    def diff_id(self) -> str:
        return sha256_digest(self.tar)

    @property
    def size(self) -> int:
        return len(self.gz)

    def descriptor(self, media_type: str) -> Descriptor:
        return Descriptor(media_type, self.digest, self.size)


def build_layer(files: Files, *, whiteouts: Iterable[str] = (), created_by: str = "", mtime: int = 0,
                compresslevel: int = 6, dir_modes: Mapping[str, int] | None = None) -> Layer:
    return Layer(tar_bytes(files, whiteouts=whiteouts, mtime=mtime, dir_modes=dir_modes), created_by, compresslevel)
