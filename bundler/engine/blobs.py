"""Phase 2: every needed blob to every target that lacks it, uploaded once and mounted elsewhere.

From a random-access source blobs are pulled in parallel, largest first. From a sequential source (a
bundle stream) they are taken in its order: blobs up to SMALL_BLOB bytes are read (and verified) into
buffers reused from blob to blob (:mod:`.buffers`) and pushed by workers while the stream reads on,
within a memory budget; larger ones stream straight through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import cast

from ..errors import BundlerError
from ..transport import BlobStream, Destination, SequentialSource, Source
from .buffers import BufferPool
from .jobs import FATAL, BlobNeed, CopyResult

SMALL_BLOB = 96 << 20       # stream-mode blobs up to this size are pushed by workers from memory
BUFFER_BUDGET = 192 << 20   # at most this many bytes of such blobs in memory at once
"""A larger blob is pushed by the reading thread itself, while the stream waits: with 64 MiB layers and a
32 MiB limit, import took 1.30-1.62x the floor (one push at a time); with these, 0.95-1.17x, for a peak RSS
of 244 MiB instead of 154 (``bench_release.py --components 20 --layer-size 64M``)."""

Opener = Callable[[], Iterator[bytes]]


class BlobMover:
    def __init__(self, source: Source, dest: Destination, result: CopyResult, workers: int,
                 on_bytes: Callable[[int], object]) -> None:
        self.source = source
        self.dest = dest
        self.result = result
        self.workers = workers
        self.on_bytes = on_bytes
        self._lock = threading.Lock()
        self.placed: set[tuple[str, str]] = set()
        """(target, digest) of every blob this run put or mounted: the target did not hold it before."""

    def _count(self, field: str, n: int = 1) -> None:
        with self._lock:
            setattr(self.result, field, getattr(self.result, field) + n)

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.on_bytes(len(chunk))
            yield chunk

    def _chunks(self, need: BlobNeed, opener: Opener | None, first_with: str | None) -> Iterator[bytes]:
        if opener is not None:
            return self._counted(opener())
        if first_with is not None and self.source.caps.sequential and self.dest.caps.reads_back:
            # the stream went by and the destination refused a mount: copy it from where it landed
            return self._counted(self.dest.read_blob(first_with, need.desc))
        return self._counted(self.source.open_blob(need.fetch_from, need.desc))

    def place(self, need: BlobNeed, opener: Opener | None, reusable: bool = False) -> None:
        """Put one blob at every target that lacks it: upload once, mount the rest.

        ``opener`` gives the blob's chunks (None: ask the source); a non-reusable opener (a stream) is used
        once, later targets then mount it or read it back."""
        first_with: str | None = None
        for target in need.targets:
            asks_itself = first_with is None and self.dest.caps.put_finds_present
            if not asks_itself and self.dest.has_blob(target, need.desc):
                first_with = first_with or target
                self._count("blobs_skipped")
                continue
            if first_with is not None and self.dest.caps.mounts and \
                    self.dest.mount_blob(target, need.desc, first_with):
                self._count("blobs_mounted")
                self.placed.add((target, need.digest))
                continue
            chunks = self._chunks(need, opener, first_with)
            if not reusable:
                opener = None
            stored = self.dest.put_blob(target, need.desc, chunks)
            first_with = target
            if stored is False:  # it was there already
                self._count("blobs_skipped")
                continue
            self.placed.add((target, need.digest))
            with self._lock:
                self.result.blobs_copied += 1
                self.result.bytes_copied += max(need.size, 0)

    def move(self, needs: dict[str, BlobNeed]) -> dict[str, str]:
        """Every needed blob; returns failures by blob digest. FATAL errors stop everything."""
        if self.source.caps.sequential:
            assert isinstance(self.source, SequentialSource)
            return self._from_stream(self.source, needs)
        failed: dict[str, str] = {}
        with ThreadPoolExecutor(self.workers) as pool:
            ordered = sorted(needs.values(), key=lambda n: -n.size)  # big blobs first keeps workers busy
            futures = {pool.submit(self.place, need, None): need for need in ordered}
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

    def _from_stream(self, stream: SequentialSource, needs: dict[str, BlobNeed]) -> dict[str, str]:
        failed: dict[str, str] = {}
        seen: set[str] = set()
        buffers = BufferPool(BUFFER_BUDGET)
        # at most two blobs waiting for a worker: reading further ahead only holds memory (and paid
        # for fresh pages: 0.2 s of a 1 GB import with 192 MiB of 10 MiB blobs read ahead)
        ahead = threading.Semaphore(self.workers + 2)
        futures: dict[Future[None], BlobNeed] = {}

        def collect(block: bool) -> None:
            for fut in [f for f in futures if block or f.done()]:
                need = futures.pop(fut)
                try:
                    fut.result()
                except FATAL:
                    raise
                except BundlerError as exc:
                    failed[need.digest] = str(exc)

        def push_buffered(need: BlobNeed, data: memoryview) -> None:
            try:
                # a memoryview, not bytes: every destination takes any bytes-like chunk
                self.place(need, lambda: iter((cast(bytes, data),)), reusable=True)
            finally:
                buffers.give(data)
                ahead.release()

        with ThreadPoolExecutor(self.workers) as pool:
            try:
                for blob in stream.stream_blobs(verify=not self.dest.caps.checks_digests):
                    digest = blob.digest
                    need = needs.get(digest)
                    if need is None:
                        continue
                    seen.add(digest)
                    try:
                        if self.workers > 1 and 0 <= need.size <= SMALL_BLOB:
                            ahead.acquire()
                            data = buffers.take(need.size)
                            try:
                                _fill(blob, data)  # the stream verifies the digest at its end
                            except BaseException:
                                buffers.give(data)
                                ahead.release()
                                raise
                            futures[pool.submit(push_buffered, need, data)] = need
                        else:
                            self.place(need, lambda c=blob.chunks: c)  # type: ignore[misc]
                    except FATAL:
                        raise
                    except BundlerError as exc:
                        failed[digest] = str(exc)
                    collect(block=False)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
            collect(block=True)
        for digest in needs.keys() - seen:
            failed[digest] = f"blob {digest} is not in the bundle"
        return failed


def _fill(blob: BlobStream, view: memoryview) -> None:
    """The whole blob into ``view``: read straight into it where the stream can, else chunk by chunk."""
    if blob.fill is not None:
        blob.fill(view)
        return
    got = 0
    for chunk in blob.chunks:
        if got + len(chunk) > len(view):
            got += len(chunk)
            break
        view[got:got + len(chunk)] = chunk
        got += len(chunk)
    if got != len(view):
        raise BundlerError(f"blob {blob.digest}: {got} bytes in the stream, {len(view)} expected")
