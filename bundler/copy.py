"""ONE copy engine: moves images from any source to any destination.

Plan -> every manifest fetched (lists and their children) -> every unique blob transferred once,
verified while it streams -> child manifests -> lists and tags. Export is registry -> OCI layout,
import is bundle stream -> registry: the same engine with source and destination swapped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Protocol

from . import mediatypes
from .errors import BundleError, BundlerError, DiskError
from .reference import Reference
from .registry.client import Manifest

FATAL = (BundleError, DiskError)
SMALL_BLOB = 32 << 20       # stream-mode blobs up to this size are pushed by workers from memory
BUFFER_BUDGET = 96 << 20    # at most this many bytes of such blobs in memory at once


class _Budget:
    """A byte budget: acquire blocks until enough is free (one request larger than the budget waits
    for everything else to be released, then goes alone)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.cond = threading.Condition()

    def acquire(self, n: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.used == 0 or self.used + n <= self.limit)
            self.used += n

    def release(self, n: int) -> None:
        with self.cond:
            self.used -= n
            self.cond.notify_all()


@dataclass(frozen=True)
class ImageJob:
    """Copy ``source`` (pinned by digest) to ``target`` (a repository at the destination) with ``tags``."""

    source: Reference
    target: str = ""
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.source.by_digest()} -> {self.target or '.'}"


@dataclass
class BlobNeed:
    digest: str
    size: int
    fetch_from: Reference
    targets: list[str] = field(default_factory=list)


@dataclass
class CopyResult:
    """What happened: manifests per job, byte counts and failures by image reference."""

    manifests: dict[str, list[Manifest]] = field(default_factory=dict)
    blobs_total: int = 0
    bytes_total: int = 0
    blobs_copied: int = 0
    bytes_copied: int = 0
    blobs_skipped: int = 0
    blobs_mounted: int = 0
    manifests_pushed: int = 0
    manifests_skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class Source(Protocol):
    def get_manifest(self, ref: Reference) -> Manifest: ...
    def iter_blob(self, ref: Reference, digest: str, size: int) -> Iterator[bytes]: ...


class StreamSource(Source, Protocol):
    """A source whose blobs can only be read in its own order (a bundle stream)."""

    def stream_blobs(self) -> Iterator[tuple[str, int, Iterator[bytes]]]: ...


class Destination(Protocol):
    def has_blob(self, target: str, digest: str, size: int) -> bool: ...
    def put_blob(self, target: str, digest: str, size: int, chunks: Iterator[bytes]) -> None: ...
    def mount_blob(self, target: str, digest: str, from_target: str) -> bool: ...
    def iter_blob(self, target: str, digest: str, size: int) -> Iterator[bytes]: ...
    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool: ...
    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None: ...


Progress = Callable[[int], None]


def _noop(_: int) -> None:
    return None


class CopyEngine:
    """Copies a list of jobs; keeps going past failures and reports each by reference."""

    def __init__(self, source: Source, dest: Destination, workers: int = 8,
                 on_bytes: Progress | None = None, on_plan: Callable[[int, int], None] | None = None) -> None:
        self.source = source
        self.dest = dest
        self.workers = max(1, workers)
        self.on_bytes = on_bytes or _noop
        self.on_plan = on_plan
        self._lock = threading.Lock()

    # -- phase 1: manifests --------------------------------------------------------------------
    def resolve(self, jobs: Iterable[ImageJob], result: CopyResult) -> dict[str, BlobNeed]:
        """Fetch every job's manifest tree (children first); collect the blobs each target needs."""
        jobs = list(jobs)
        trees: dict[str, list[Manifest]] = {}

        def fetch(job: ImageJob) -> list[Manifest]:
            top = self.source.get_manifest(job.source.by_digest())
            tree: list[Manifest] = []
            if top.is_list:
                for child in mediatypes.children(top.doc):
                    ref = job.source.with_tag(None).with_digest(child["digest"])
                    tree.append(self.source.get_manifest(ref))
            tree.append(top)
            return tree

        with ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(fetch, job): job for job in jobs}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    trees[job.key] = fut.result()
                except BundlerError as exc:
                    result.failed[str(job.source)] = str(exc)
        needs: dict[str, BlobNeed] = {}
        for job in jobs:
            if job.key not in trees:
                continue
            result.manifests[job.key] = trees[job.key]
            for m in trees[job.key]:
                if m.is_list:
                    continue
                for desc in mediatypes.blobs(m.doc):
                    need = needs.setdefault(desc["digest"], BlobNeed(desc["digest"], int(desc.get("size", -1)), job.source))
                    if job.target not in need.targets:
                        need.targets.append(job.target)
        result.blobs_total = len(needs)
        result.bytes_total = sum(max(n.size, 0) for n in needs.values())
        return needs

    # -- phase 2: blobs ------------------------------------------------------------------------
    def _place_blob(self, need: BlobNeed, opener: Callable[[], Iterator[bytes]] | None,
                    result: CopyResult, reusable: bool = False) -> None:
        """Put one blob at every target that lacks it: upload once, mount the rest.

        ``opener`` gives the blob's chunks (None: ask the source); a non-reusable opener (a stream)
        is used once, later targets then mount it or fetch it from the source again."""
        first_with: str | None = None
        for target in need.targets:
            if self.dest.has_blob(target, need.digest, need.size):
                first_with = first_with or target
                with self._lock:
                    result.blobs_skipped += 1
                continue
            if first_with is not None and self.dest.mount_blob(target, need.digest, first_with):
                with self._lock:
                    result.blobs_mounted += 1
                continue
            if opener is None and first_with is not None and hasattr(self.source, "stream_blobs"):
                # the stream went by and the registry refused a mount: copy it from where it landed
                chunks = self._counted(self.dest.iter_blob(first_with, need.digest, need.size))
            elif opener is None:
                chunks = self._counted(self.source.iter_blob(need.fetch_from, need.digest, need.size))
            else:
                chunks = self._counted(opener())
                if not reusable:
                    opener = None
            self.dest.put_blob(target, need.digest, need.size, chunks)
            first_with = target
            with self._lock:
                result.blobs_copied += 1
                result.bytes_copied += max(need.size, 0)

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.on_bytes(len(chunk))
            yield chunk

    def transfer_blobs(self, needs: dict[str, BlobNeed], result: CopyResult) -> dict[str, str]:
        """Transfer every needed blob; returns failures by blob digest."""
        failed: dict[str, str] = {}
        if hasattr(self.source, "stream_blobs"):
            return self._transfer_stream(self.source, needs, result)  # type: ignore[arg-type]
        with ThreadPoolExecutor(self.workers) as pool:
            ordered = sorted(needs.values(), key=lambda n: -n.size)  # big blobs first keeps workers busy
            futures = {pool.submit(self._place_blob, need, None, result): need for need in ordered}
            for fut in as_completed(futures):
                try:
                    fut.result()
                except FATAL:
                    for other in futures:
                        other.cancel()
                    raise
                except BundlerError as exc:
                    failed[futures[fut].digest] = str(exc)
        return failed

    def _transfer_stream(self, stream: StreamSource, needs: dict[str, BlobNeed], result: CopyResult) -> dict[str, str]:
        """Blobs in the stream's order. Blobs up to SMALL_BLOB bytes are read (and verified) into memory
        and pushed by workers while the stream reads on, within a memory budget; larger blobs stream
        straight from the archive to the registry."""
        failed: dict[str, str] = {}
        seen: set[str] = set()
        budget = _Budget(BUFFER_BUDGET)
        futures: dict[Future[None], BlobNeed] = {}

        def collect(block: bool) -> None:
            done = [f for f in futures if block or f.done()]
            for fut in done:
                need = futures.pop(fut)
                try:
                    fut.result()
                except FATAL:
                    raise
                except BundlerError as exc:
                    failed[need.digest] = str(exc)

        def push_buffered(need: BlobNeed, data: bytes) -> None:
            try:
                self._place_blob(need, lambda: iter((data,)), result, reusable=True)
            finally:
                budget.release(len(data))

        with ThreadPoolExecutor(self.workers) as pool:
            try:
                for digest, _size, chunks in stream.stream_blobs():
                    need = needs.get(digest)
                    if need is None:
                        continue
                    seen.add(digest)
                    try:
                        if self.workers > 1 and 0 <= need.size <= SMALL_BLOB:
                            budget.acquire(need.size)
                            try:
                                data = b"".join(chunks)  # the stream verifies the digest at its end
                            except BaseException:
                                budget.release(need.size)
                                raise
                            futures[pool.submit(push_buffered, need, data)] = need
                        else:
                            self._place_blob(need, lambda c=chunks: c, result)  # type: ignore[misc]
                    except FATAL:
                        raise
                    except BundlerError as exc:
                        failed[digest] = str(exc)
                    collect(block=False)
                    if len(seen) == len(needs) and not getattr(stream, "drain", True):
                        break  # leave the stream where it is: a later run reads on from here
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
            collect(block=True)
        for digest in needs.keys() - seen:
            failed[digest] = f"blob {digest} is not in the bundle"
        return failed

    # -- phase 3: manifests, children before lists ---------------------------------------------
    def _push_tree(self, job: ImageJob, tree: list[Manifest], result: CopyResult) -> None:
        """Children by digest, then the top under each tag (a manifest put by tag is also addressable
        by its digest) or by digest when there is no tag. When the top is already there under every
        name, so is everything below it (a registry refuses a list whose children are missing, and the
        top is always written last), so one HEAD per name settles the whole tree."""
        top = tree[-1]
        names: list[str | None] = list(job.tags) or [None]
        if all(self.dest.has_manifest(job.target, top, name) for name in names):
            with self._lock:
                result.manifests_skipped += len(tree) - 1 + len(names)
            return
        for m in tree[:-1]:
            self.dest.put_manifest(job.target, m, None)
        for name in names:
            self.dest.put_manifest(job.target, top, name)
        with self._lock:
            result.manifests_pushed += len(tree) - 1 + len(names)

    def push_manifests(self, jobs: list[ImageJob], blob_failures: dict[str, str], result: CopyResult) -> None:
        """Every job whose blobs all arrived: children, then the list, then tags."""
        by_key = {job.key: job for job in jobs}
        pushable = []
        for key, tree in result.manifests.items():
            job = by_key[key]
            bad = [d for m in tree if not m.is_list for d in (b["digest"] for b in mediatypes.blobs(m.doc))
                   if d in blob_failures]
            if bad:
                result.failed[str(job.source)] = blob_failures[bad[0]]
            else:
                pushable.append(job)
        with ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(self._push_tree, job, result.manifests[job.key], result): job for job in pushable}
            for fut in as_completed(futures):
                try:
                    fut.result()
                except FATAL:
                    raise
                except BundlerError as exc:
                    result.failed[str(futures[fut].source)] = str(exc)

    def run(self, jobs: list[ImageJob]) -> CopyResult:
        """All three phases: manifests, blobs, then manifests pushed children first."""
        start = time.monotonic()
        result = CopyResult()
        needs = self.resolve(jobs, result)
        if self.on_plan:
            self.on_plan(result.blobs_total, result.bytes_total)
        blob_failures = self.transfer_blobs(needs, result)
        self.push_manifests(jobs, blob_failures, result)
        result.seconds = time.monotonic() - start
        return result
