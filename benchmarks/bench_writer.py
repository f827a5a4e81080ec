"""The export's write path alone, against writing the same bytes raw: how much CPU bundler's bundle writer
(:class:`bundler.bundle.writer.BundleWriter`: framing, places in the stream, parallel ``pwritev``, the part
sha256, the journal) spends beyond the least any writer of a checksummed file must.

No network, no registry: ``--blobs`` blobs of ``--blob-size`` (random bytes behind a gzip header, so they
are stored as layers are), already in memory as ``--chunk``-sized ``bytes`` as a download yields them,
written by 8 threads at once. Three ways, ``--rounds`` times each (which goes first turning from round to
round), each after ``machine.settle`` (a ``sync``, and the memory it will write into touched just before):

* raw: each blob ``pwrite``-n at its own offset of one file, one write at a time;
* raw + sha256: the same, then one sha256 pass over the file (mapped), as the part checksum needs;
* bundler: ``BundleWriter.put_blob`` from 8 threads, then ``close_data`` (parts hashed and closed).

Prints wall, user and system seconds of each run and their medians (``getrusage``), so the write path's own
cost shows apart from the network's and the registry's (``bench_release.py`` measures those together).

    python benchmarks/bench_writer.py [--blobs 104] [--blob-size 10M] [--chunk 1M] [--rounds 3] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bundler from this checkout

from machine import settle  # noqa: E402

from bundler.bundle.parts import parse_size  # noqa: E402
from bundler.bundle.writer import BundleWriter  # noqa: E402

WORKERS = 8


def make_blobs(count: int, size: int, chunk: int) -> list[tuple[str, list[bytes]]]:
    """(digest, chunks) of each blob: random, so nothing compresses, with a gzip header, so it is stored."""
    blobs = []
    for _ in range(count):
        data = b"\x1f\x8b" + os.urandom(size - 2)
        blobs.append(("sha256:" + hashlib.sha256(data).hexdigest(), [data[o:o + chunk] for o in range(0, size, chunk)]))
    return blobs


def raw(blobs: list[tuple[str, list[bytes]]], size: int, out: Path, hash_after: bool) -> None:
    fd = os.open(out / "raw", os.O_RDWR | os.O_CREAT, 0o644)
    one_at_a_time = threading.Lock()  # one writer at a time, as the export floor writes its file (floor.py)
    try:
        def put(index: int) -> None:
            at = index * size
            for piece in blobs[index][1]:
                with one_at_a_time:
                    os.pwrite(fd, piece, at)
                at += len(piece)

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(put, range(len(blobs))))
        if hash_after:
            with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as mapped:
                hashlib.sha256(mapped)
        os.fsync(fd)
    finally:
        os.close(fd)


def bundler(blobs: list[tuple[str, list[bytes]]], size: int, out: Path, split: int) -> None:
    writer = BundleWriter(out / "bench.tar.zst", split)
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda blob: writer.put_blob(blob[0], size, iter(blob[1])), blobs))
    writer.close_data()


def timed(name: str, run: Callable[[Path], None], root: Path, writes: int) -> tuple[float, float, float]:
    """(wall, user, system) seconds of one run."""
    out = root / name.replace(" ", "")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    settle(writes)  # sync, and memory for what it writes touched just before (machine.py)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    run(out)
    wall, after = time.monotonic() - start, resource.getrusage(resource.RUSAGE_SELF)
    shutil.rmtree(out, ignore_errors=True)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def _line(name: str, wall: float, user: float, system: float) -> str:
    return f"{name:13s} wall {wall:5.2f}s  user {user:5.2f}s  sys {system:5.2f}s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blobs", type=int, default=104)
    ap.add_argument("--blob-size", default="10M")
    ap.add_argument("--chunk", default="1M")
    ap.add_argument("--split", default="1G", help="data part size of the bundle")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp")
    args = ap.parse_args()
    size, chunk, split = parse_size(args.blob_size), parse_size(args.chunk), parse_size(args.split)
    blobs = make_blobs(args.blobs, size, chunk)
    print(f"{args.blobs} blobs of {size >> 20} MiB ({args.blobs * size / 1e9:.2f} GB) in {chunk >> 10} KiB chunks, "
          f"{WORKERS} threads")
    ways: list[tuple[str, Callable[[Path], None]]] = [
        ("raw", lambda out: raw(blobs, size, out, False)),
        ("raw + sha256", lambda out: raw(blobs, size, out, True)),
        ("bundler", lambda out: bundler(blobs, size, out, split)),
    ]
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _ in ways}
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-writer-") as tmp:
        for r in range(args.rounds):
            # which way goes first turns from round to round, so none always follows the same other one
            # (whose files were just deleted)
            for name, run in ways[r % len(ways):] + ways[:r % len(ways)]:
                runs[name].append(timed(name, run, Path(tmp), args.blobs * size * 5 // 4))
                print(f"round {r}: " + _line(name, *runs[name][-1]), flush=True)
    for name, figures in runs.items():
        print("median   " + _line(name, *(statistics.median(f[i] for f in figures) for i in range(3))))


if __name__ == "__main__":
    main()
