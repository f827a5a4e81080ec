"""The benchmark scripts that need no large synthetic release still run against the current code (tiny sizes:
their figures are not checked here, only that every way ran and printed them)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_writer_prints_every_way(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_writer.py"), "--blobs", "6",
                           "--blob-size", "1M", "--chunk", "256K", "--split", "2M", "--rounds", "1",
                           "--dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for way in ("raw", "raw \\+ sha256", "bundler"):
        assert re.search(rf"^median   {way} +wall +\d+\.\d+s  user +\d+\.\d+s  sys +\d+\.\d+s$", proc.stdout, re.M), \
            proc.stdout
    assert list(tmp_path.iterdir()) == []  # its scratch directory is gone


def test_bench_manifests_prints_its_figures() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_manifests.py"), "--count", "4"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"basic auth, 4 manifests: a PUT \d+\.\d ms one at a time, \d+\.\d ms each 8 at once "
                        r"\(\d+\.\d\d s for all\); a HEAD \d+\.\d ms\n", proc.stdout), proc.stdout


def test_bench_planning_plans_the_same_both_ways() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_planning.py"), "--components", "4",
                           "--rounds", "1", "--rtt", "0.01"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rounds = re.findall(r"^round 0: (at once|one after another) +\d+\.\d{3}s \((\d+) images\)$", proc.stdout, re.M)
    assert [way for way, _ in rounds] == ["at once", "one after another"], proc.stdout
    assert rounds[0][1] == rounds[1][1] and int(rounds[0][1]) > 4, proc.stdout
    assert re.search(r"^round trip 10 ms; median: at once \d+\.\d{3}s, one after another \d+\.\d{3}s$", proc.stdout, re.M)


def test_stress_tls_connects_without_failures() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "stress_tls.py"), "--connections", "200",
                           "--threads", "8"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.fullmatch(r"200 connections in \d+\.\ds, 8 at once: 200 answered, 0 TLS failures\n", proc.stdout), \
        proc.stdout
