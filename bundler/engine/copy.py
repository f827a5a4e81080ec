"""The engine's entry: resolve (phase 1), move blobs (phase 2), push manifests children first (phase 3)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from ..errors import BundlerError
from ..oci import Manifest
from ..transport import Destination, Source
from .blobs import BlobMover
from .jobs import FATAL, CopyResult, ImageJob, Resolution
from .resolve import resolve
from .sparse import is_sparse, refused_sparse

PRESENCE_WORKERS = 2
"""Lookups of manifests already at the destination while the blobs move (few: they share the registry)."""

Presence = dict[tuple[int, str | None], "Future[bool]"]


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

    def _ask_presence(self, res: Resolution, pool: ThreadPoolExecutor) -> Presence:
        """Is each job's top manifest already there, under each of its names? Asked while the blobs move
        (lookups only: nothing is written before an image's blobs are all in)."""
        asked: Presence = {}
        for job in res.jobs:
            tree = res.trees.get(job.key)
            if tree is None:
                continue
            names: list[str | None] = list(job.tags) or [None]
            for name in names:
                asked[(id(job), name)] = pool.submit(self.dest.has_manifest, job.target, tree[-1], name)
        return asked

    def _present(self, job: ImageJob, top: Manifest, name: str | None, asked: Presence) -> bool:
        known = asked.get((id(job), name))
        return known.result() if known is not None else self.dest.has_manifest(job.target, top, name)

    def _push_tree(self, job: ImageJob, tree: list[Manifest], result: CopyResult, asked: Presence) -> None:
        """Children by digest, then the top under each tag (a manifest put by tag is also addressable by
        its digest), or by digest when there is no tag. When the top is already there under every name,
        so is everything below it (a registry refuses a list whose children are missing, and the top is
        always written last), so one HEAD per name settles the whole tree."""
        top = tree[-1]
        names: list[str | None] = list(job.tags) or [None]
        if all(self._present(job, top, name, asked) for name in names):
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
                       asked: Presence | None = None) -> None:
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
            futures = {pool.submit(self._push_tree, job, res.trees[job.key], result, asked or {}): job
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
        lookups = ThreadPoolExecutor(PRESENCE_WORKERS, thread_name_prefix="presence")
        try:
            asked = self._ask_presence(res, lookups) if self.dest.caps.remote_lookups else {}
            blob_failures = mover.move(res.needs)
            self.push_manifests(res, blob_failures, result, asked)
        finally:
            lookups.shutdown(wait=False, cancel_futures=True)
        result.seconds = time.monotonic() - start
        return result
