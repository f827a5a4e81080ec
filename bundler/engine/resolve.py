"""Phase 1: every job's manifest tree, and the unique blobs each target needs. Needs only a source, so a
dry run is this phase alone."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..errors import BundlerError
from ..oci import Manifest
from ..transport import Source
from .jobs import BlobNeed, ImageJob, Resolution
from .sparse import selected_children


def fetch_tree(source: Source, job: ImageJob) -> list[Manifest]:
    """The job's manifests: a list's children first (only the selected platforms' for a sparse job), the
    top last."""
    top = source.get_manifest(job.source)
    children = selected_children(top, job.platforms, str(job.source)) if job.platforms else top.children
    tree = [source.get_manifest(job.source.repo.pinned(child.digest)) for child in children]
    tree.append(top)
    return tree


def resolve(source: Source, jobs: Iterable[ImageJob], workers: int = 8) -> Resolution:
    """Fetch every tree in parallel; a job whose tree cannot be read fails alone, by reference."""
    res = Resolution(list(jobs))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {pool.submit(fetch_tree, source, job): job for job in res.jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                res.trees[job.key] = fut.result()
            except BundlerError as exc:
                res.failed[str(job.source)] = str(exc)
    for job in res.jobs:
        for m in res.trees.get(job.key, []):
            for desc in m.blobs:
                need = res.needs.setdefault(desc.digest, BlobNeed(desc, job.source.repo))
                if job.target not in need.targets:
                    need.targets.append(job.target)
    return res
