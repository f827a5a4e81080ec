"""The engine's entry: resolve (phase 1), move blobs (phase 2), push manifests children first (phase 3)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..errors import BundlerError
from ..oci import Manifest
from ..transport import Destination, Source
from .blobs import BlobMover
from .jobs import FATAL, CopyResult, ImageJob, Resolution
from .resolve import resolve
from .sparse import is_sparse, refused_sparse


def _noop(_: int) -> None:
    return None


class CopyEngine:
    """Copies jobs from ``source`` to ``dest``; keeps going past failures and reports each by reference."""

    def __init__(self, source: Source, dest: Destination, workers: int = 8,
                 on_bytes: Callable[[int], object] | None = None,
                 on_plan: Callable[[int, int], None] | None = None) -> None:
        self.source = source
        self.dest = dest
        self.workers = max(1, workers)
        self.on_bytes = on_bytes or _noop
        self.on_plan = on_plan
        self._lock = threading.Lock()

    def _present(self, job: ImageJob, tree: list[Manifest], name: str | None, placed: set[tuple[str, str]]) -> bool:
        """Is the top already there under ``name``? Where a lookup costs a request, it is not asked when this
        run had to put one of the image's blobs into its repository: a registry holds a manifest only with
        all its blobs, so the answer is no (a first import asks nothing; a re-import asks one per name)."""
        if self.dest.caps.remote_lookups and any((job.target, d.digest) in placed for m in tree for d in m.blobs):
            return False
        return self.dest.has_manifest(job.target, tree[-1], name)

    def _push_tree(self, job: ImageJob, tree: list[Manifest], result: CopyResult,
                   placed: set[tuple[str, str]]) -> None:
        """Children by digest, then the top under each tag (a manifest put by tag is also addressable by
        its digest), or by digest when there is no tag. When the top is already there under every name,
        so is everything below it (a registry refuses a list whose children are missing, and the top is
        always written last), so one HEAD per name settles the whole tree."""
        top = tree[-1]
        names: list[str | None] = list(job.tags) or [None]
        if all(self._present(job, tree, name, placed) for name in names):
            with self._lock:
                result.manifests_skipped += len(tree) - 1 + len(names)
            return
        for m in tree[:-1]:
            self.dest.put_manifest(job.target, m, None)
        try:
            for name in names:
                self.dest.put_manifest(job.target, top, name)
        except FATAL:
            raise
        except BundlerError as exc:
            if is_sparse(top, tree):
                raise refused_sparse(exc, str(job.source), len(tree) - 1, len(top.children)) from exc
            raise
        with self._lock:
            result.manifests_pushed += len(tree) - 1 + len(names)

    def push_manifests(self, res: Resolution, blob_failures: dict[str, str], result: CopyResult,
                       placed: set[tuple[str, str]] | None = None) -> None:
        """Every job whose blobs all arrived: children, then the list, then tags."""
        pushable = []
        for job in res.jobs:
            tree = res.trees.get(job.key)
            if tree is None:
                continue
            bad = [d.digest for m in tree for d in m.blobs if d.digest in blob_failures]
            if bad:
                result.failed[str(job.source)] = blob_failures[bad[0]]
            else:
                pushable.append(job)
        with ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(self._push_tree, job, res.trees[job.key], result, placed or set()): job
                       for job in pushable}
            for fut in as_completed(futures):
                try:
                    fut.result()
                except FATAL:
                    raise
                except BundlerError as exc:
                    result.failed[str(futures[fut].source)] = str(exc)

    def run(self, jobs: list[ImageJob] | Resolution) -> CopyResult:
        """All three phases (phase 1 is skipped when given a :class:`Resolution`). Committing the
        destination is the caller's: it may first have to tell it what was copied (a bundle's metadata)."""
        start = time.monotonic()
        res = jobs if isinstance(jobs, Resolution) else resolve(self.source, jobs, self.workers)
        result = CopyResult(manifests=dict(res.trees), failed=dict(res.failed),
                            blobs_total=res.blobs_total, bytes_total=res.bytes_total)
        if self.on_plan:
            self.on_plan(result.blobs_total, result.bytes_total)
        mover = BlobMover(self.source, self.dest, result, self.workers, self.on_bytes)
        blob_failures = mover.move(res.needs)
        self.push_manifests(res, blob_failures, result, mover.placed)
        result.seconds = time.monotonic() - start
        return result
