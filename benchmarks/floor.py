"""The machine's floor for bundler's work, measured on the same blobs, upstream and kind of target:

* export floor: parallel GET of every unique blob (``--workers`` at once, largest first), sha256 of each
  as it streams, each blob appended whole to ONE file (sequential writes), fsync at the end;
* import floor: parallel PUT of the same blobs (read back from that file) into a fresh target registry,
  each unique blob once (monolithic upload, the registry verifies the digest).

No planning, no manifests, no tar, no compression, no part hashing, no journal: what is left when
bundler's own work is taken away. Uses the same HTTP client as bundler (requests, TLS, auth).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bundler.engine import BlobNeed
from bundler.registry import RegistryClient, RegistryPool


def export_floor(needs: list[BlobNeed], pool: RegistryPool, out: Path, workers: int) -> tuple[float, dict[str, tuple[int, int]]]:
    """Seconds, and where each blob landed in ``out`` (offset, size)."""
    offsets: dict[str, tuple[int, int]] = {}
    lock = threading.Lock()
    ordered = sorted(needs, key=lambda n: -n.size)
    with open(out, "wb") as fh:
        def get(need: BlobNeed) -> None:
            chunks = list(pool.get(need.fetch_from.registry).iter_blob(need.fetch_from.path, need.digest))
            with lock:
                offsets[need.digest] = (fh.tell(), sum(len(c) for c in chunks))
                for chunk in chunks:
                    fh.write(chunk)

        start = time.monotonic()
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(get, ordered))
        fh.flush()
        os.fsync(fh.fileno())
        return time.monotonic() - start, offsets


def import_floor(needs: list[BlobNeed], offsets: dict[str, tuple[int, int]], source: Path, client: RegistryClient,
                 workers: int) -> float:
    ordered = sorted(needs, key=lambda n: -n.size)
    fd = os.open(source, os.O_RDONLY)
    try:
        def put(need: BlobNeed) -> None:
            offset, size = offsets[need.digest]
            data = os.pread(fd, size, offset)
            client.push_blob("floor/" + need.fetch_from.path, need.digest, size, lambda: data)

        start = time.monotonic()
        with ThreadPoolExecutor(workers) as ex:
            list(ex.map(put, ordered))
        return time.monotonic() - start
    finally:
        os.close(fd)


class DiskWatch:
    """The largest total size of the files in a directory while something runs (sampled every 50 ms)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_blocks * 512
                except OSError:
                    continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._size())

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._size())
