"""What ``bundler export`` needs around the copy: the planners' bounded cache, the free-space check, and
splitting the work into the bootstrap images (first in the archive) and the rest."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from .engine import Resolution
from .errors import DiskError
from .oci.layout import OCILayout
from .progress import human

TEMP_BUDGET = 1 << 30
"""Disk an export may use beyond the bundle itself: the planners' cache."""
FREE_MARGIN = 64 << 20


class CappedLayout(OCILayout):
    """An OCI layout that keeps what planners read only while it holds less than ``cap`` bytes: beyond
    that a blob is read through (and fetched again by the copy)."""

    def __init__(self, root: Path, cap: int) -> None:
        super().__init__(root)
        self.cap = cap
        self.used = dir_size(root)

    def tee_blob(self, digest: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
        if self.used >= self.cap:
            return iter(chunks)
        return self._counted(super().tee_blob(digest, chunks))

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.used += len(chunk)
            yield chunk


def dir_size(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def check_free_space(bundle: Path, needed: int) -> int:
    """Refuse before the pull when the bundle cannot fit; return what is left for temporary files."""
    free = shutil.disk_usage(bundle.parent).free
    if needed + FREE_MARGIN > free:
        raise DiskError(f"not enough free space for the bundle in {bundle.parent}: it needs about {human(needed)} "
                        f"({needed} bytes) more, {human(free)} are free",
                        "free space there, choose another -o path, or export less (a differential with --since)")
    return free - needed - FREE_MARGIN


def split_resolution(res: Resolution, first: set[str]) -> tuple[Resolution, Resolution]:
    """(the jobs in ``first`` (pinned references), the rest): blobs of the first go in the first, once."""
    a = Resolution([j for j in res.jobs if str(j.source) in first])
    b = Resolution([j for j in res.jobs if str(j.source) not in first], failed=dict(res.failed))
    for part in (a, b):
        part.trees = {j.key: res.trees[j.key] for j in part.jobs if j.key in res.trees}
    for part in (a, b):
        for tree in part.trees.values():
            for m in tree:
                for desc in m.blobs:
                    if desc.digest in res.needs and (part is a or desc.digest not in a.needs):
                        part.needs[desc.digest] = res.needs[desc.digest]
    return a, b
