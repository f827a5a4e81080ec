"""Speed, memory and disk: bundler against the machine's floor for the same work, in the same run.

Builds a synthetic release (default 100 components of ~10 MiB: > 1 GB) in a real registry (token auth,
TLS), then times:

* the export floor (parallel GET + sha256 + one sequential file, :mod:`floor`) and `bundler export`
  (split parts), watching the peak disk use of the bundle's directory;
* the import floor (parallel PUT of the same blobs into a fresh registry) and `bundler import` into
  another fresh registry of the same kind;
* with ``--workaround``, also the seed's skopeo workaround (`skopeo copy --all` into one OCI layout,
  `tar | zstd`, `zstd -d | tar x`, `skopeo copy --all` into a registry).

Floor and bundler run back to back, which goes first alternating from round to round, each after a ``sync``
(the registries do not fsync: whichever ran first would otherwise leave a GB of writeback to the next,
10-15% of an import), with as much memory as it writes touched just before (:mod:`machine`: on this virtual
machine a GiB written into memory the host took back costs 1.2-1.4 s more) and, for export, after the
upstream's blobs were read once (neither finds them cached because the other just read them). Prints
bundler/floor for export and import (best round, and the median of the rounds' own ratios), bundler's peak
RSS per command (GNU time), its peak disk against the bundle's size, and how many times each blob was
fetched from the upstream (access log).

    python benchmarks/bench_release.py [--components 100] [--layer-size 10M] [--workers 8] [--dir /var/tmp/bench]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit/ lives beside bundler/, outside the wheel

from floor import DiskWatch, export_floor, import_floor  # noqa: E402
from machine import cpu_counters, first_touch, settle  # noqa: E402

from bundler.auth import AuthStore  # noqa: E402
from bundler.bundle.parts import parse_size  # noqa: E402
from bundler.engine import ImageJob, resolve  # noqa: E402
from bundler.oci import parse  # noqa: E402
from bundler.registry import RegistryPool  # noqa: E402
from bundler.transport.registry import RegistrySource  # noqa: E402
from testkit.registry import RegistryServer  # noqa: E402
from testkit.synthetic import build_upstream  # noqa: E402

ACCESS_LOG = {"log": {"level": "warn", "accesslog": {"disabled": False}, "formatter": "text"}}


class Timed(NamedTuple):
    seconds: float
    rss_mib: int
    cpu: float  # user + system seconds of the command
    printed: str


def timed(args: list[str], env: dict[str, str] | None = None) -> Timed:
    """Run a command; return its seconds, peak RSS, CPU and what it printed. GNU time measures the command
    itself: a forked child's own max-RSS would start at this (large) benchmark process's size."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        start = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", rss.name, *args], env=env,
                              capture_output=True)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(f"command failed: {' '.join(args)}\n{proc.stderr.decode()[-2000:]}")
        kib, user, system = Path(rss.name).read_text().split()[-3:]
        return Timed(elapsed, int(kib) // 1024, float(user) + float(system), proc.stdout.decode())


def own_cpu() -> float:
    """User + system CPU of this process so far (the floors run in it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def blob_gets(server: RegistryServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in re.finditer(r'"GET /v2/\S+/blobs/(sha256:[0-9a-f]{64})', server.log_file.read_text()):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def _needs(up: object, pull: Path, ca_file: Path | None) -> list:  # type: ignore[type-arg]
    """Every unique blob of the images and a repository it is fetched from (untimed)."""
    refs = [up.release, *up.components.values(), *up.additional]  # type: ignore[attr-defined]
    pool = RegistryPool(AuthStore.load(pull), ca_file)
    source = RegistrySource(pool)
    jobs = [ImageJob(parse(r).pin(source.get_manifest(parse(r)).digest)) for r in refs]
    return list(resolve(source, jobs).needs.values())


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def _phase(printed: str, pattern: str) -> float | None:
    """A phase's seconds as bundler printed them (``Pulled ... in 3.2s``), or None."""
    m = re.search(pattern, printed)
    return float(m.group(1)) if m else None


def _settle(upstream: RegistryServer, write_bytes: int) -> None:
    """Before each timed export: the upstream's blobs read once, so that neither command finds them in
    the page cache because the other just read them (the real upstream is across a network; a 5 GB floor
    run that followed bundler's took 15.8 s, one that went first 21.0), then :func:`machine.settle`."""
    for path in upstream.storage.rglob("data"):
        with open(path, "rb") as fh:
            while fh.read(8 << 20):
                pass
    settle(write_bytes)


def _paired(rounds: Sequence[tuple[float, ...]]) -> str:
    """The median of each round's bundler/floor: the two ran back to back, so slow minutes of a shared
    machine hit both."""
    ratios = sorted(r[1] / r[0] for r in rounds if r[0])
    return f"{statistics.median(ratios):.2f}x" if ratios else "n/a"


class Cpu(NamedTuple):
    """CPU seconds one timed command used, what the registry it talked to used meanwhile, and what the
    whole machine was busy (the kernel's writeback threads included) and had stolen by the hypervisor: on
    two cores they all compete, so a command's extra CPU is wall time."""
    own: float
    registry: float
    machine: float = 0.0
    steal: float = 0.0

    def __str__(self) -> str:
        return f"{self.own:.1f}+{self.registry:.1f} (machine {self.machine:.1f}, stolen {self.steal:.1f})"


class Meter:
    """The counters of :class:`Cpu` from a start, for one timed command."""

    def __init__(self, registry: RegistryServer, own: Callable[[], float] = lambda: 0.0) -> None:
        self.registry, self.own = registry, own
        self.start = (own(), registry.cpu_seconds(), *cpu_counters())

    def read(self, own: float | None = None) -> Cpu:
        now = (self.own(), self.registry.cpu_seconds(), *cpu_counters())
        spent = [b - a for a, b in zip(self.start, now, strict=True)]
        return Cpu(own if own is not None else spent[0], spent[1], spent[2], spent[3])


def _export_round(i: int, base: Path, args: argparse.Namespace, ctx: dict) -> tuple[float, float, int, int, int]:
    """One floor export and one bundler export, back to back (which goes first alternates from round to
    round): (floor s, bundler s, RSS MiB, peak disk, size)."""
    floor_file = base / "floor" / "blobs.bin"
    upstream: RegistryServer = ctx["upstream"]

    def floor() -> tuple[float, Cpu]:
        shutil.rmtree(floor_file.parent, ignore_errors=True)
        floor_file.parent.mkdir(parents=True)
        _settle(upstream, ctx["warm"])
        meter = Meter(upstream, own_cpu)
        seconds, ctx["offsets"] = export_floor(ctx["needs"], RegistryPool(AuthStore.load(ctx["pull"]), ctx["ca"]),
                                               floor_file, args.workers)
        return seconds, meter.read()

    f_exp, f_cpu = floor() if i % 2 == 0 else (0.0, Cpu(0, 0))
    upstream.log_file.write_text("")  # count only what bundler fetches
    bundle = base / "bundler" / "ocp.tar.zst"
    shutil.rmtree(bundle.parent, ignore_errors=True)
    bundle.parent.mkdir(parents=True)
    _settle(upstream, ctx["warm"])
    meter = Meter(upstream)
    with DiskWatch(bundle.parent) as disk:
        run = timed([*ctx["py"], "export", "-c", str(ctx["cfg"]), "-o", str(bundle), "--authfile",
                     str(ctx["pull"]), "--ca-file", str(ctx["ca"]), "--workers", str(args.workers),
                     "--split-size", args.split_size,
                     "--ignore-release-signature"])  # the synthetic release has no signature store
    b_cpu = meter.read(run.cpu)
    ctx["gets"] = blob_gets(upstream)
    if not f_exp:
        f_exp, f_cpu = floor()
    size = sum(p.stat().st_size for p in bundle.parent.glob("ocp.tar.zst*"))
    pull = _phase(run.printed, r"Pulled .* in ([0-9.]+)s") or 0.0
    planning = _phase(run.printed, r"planning took ([0-9.]+)s") or 0.0
    print(f"round {i}: export floor {f_exp:6.1f}s  bundler {run.seconds:6.1f}s ({_ratio(run.seconds, f_exp)}; its pull "
          f"alone {pull}s: {_ratio(pull, f_exp)}; planning {planning}s, the rest {run.seconds - pull - planning:.1f}s)  "
          f"CPU s, own+upstream's: floor {f_cpu}, bundler {b_cpu}  peak RSS {run.rss_mib} MiB  "
          f"bundle {size / 1e9:.2f} GB  peak disk {disk.peak / 1e9:.2f} GB", flush=True)
    return f_exp, run.seconds, run.rss_mib, disk.peak, size


def _import_round(i: int, base: Path, args: argparse.Namespace, ctx: dict) -> tuple[float, float, int]:
    """One floor import and one bundler import, each into a fresh registry of the same kind."""
    tgt_f = RegistryServer(auth="basic", workdir=base / f"target-floor-{i}").start()
    tgt_b = RegistryServer(auth="basic", workdir=base / f"target-bundler-{i}").start()
    try:
        def floor() -> tuple[float, Cpu]:
            settle(ctx["warm"])
            meter = Meter(tgt_f, own_cpu)
            seconds = import_floor(ctx["needs"], ctx["offsets"], base / "floor" / "blobs.bin", tgt_f.client(),
                                   args.workers)
            return seconds, meter.read()

        f_imp, f_cpu = floor() if i % 2 == 0 else (0.0, Cpu(0, 0))
        push_b = tgt_b.authfile(base / "push-b.json")
        settle(ctx["warm"])
        meter = Meter(tgt_b)
        run = timed([*ctx["py"], "import", str(base / "bundler" / "ocp.tar.zst"), "--registry", tgt_b.host,
                     "--authfile", str(push_b), "--ca-file", str(tgt_b.ca_file), "--workers",
                     str(args.workers), "-o", str(base / "out")])
        b_cpu = meter.read(run.cpu)
        if not f_imp:
            f_imp, f_cpu = floor()
    finally:
        for server in (tgt_f, tgt_b):
            server.close()
            shutil.rmtree(server.dir, ignore_errors=True)
    print(f"round {i}: import floor {f_imp:6.1f}s  bundler {run.seconds:6.1f}s ({_ratio(run.seconds, f_imp)})  "
          f"CPU s, own+target's: floor {f_cpu}, bundler {b_cpu}  peak RSS {run.rss_mib} MiB", flush=True)
    return f_imp, run.seconds, run.rss_mib


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--components", type=int, default=100)
    ap.add_argument("--layer-size", default="10M")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--split-size", default="1G")
    ap.add_argument("--rounds", type=int, default=3, help="floor and bundler back to back (which goes first "
                    "alternates), this many times; the best of each is compared (other load on the machine only "
                    "ever adds time), and the median of the rounds' own ratios")
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir under /var/tmp)")
    ap.add_argument("--workaround", action="store_true", help="also time the skopeo workaround")
    args = ap.parse_args()
    # byte-compile bundler as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as on this machine), an
    # editable checkout would otherwise compile every module from source in each timed command (0.3 s)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "bundler")],
                   check=True, stdout=subprocess.DEVNULL)
    cold, warm = first_touch()
    print(f"memory: writing a GiB into pages the host took back {cold:.2f}s, into pages freed a moment earlier "
          f"{warm:.2f}s (each timed command starts after sync, with memory for what it writes touched just "
          "before: machine.py)", flush=True)
    base = Path(args.dir or tempfile.mkdtemp(prefix="bundler-bench-", dir="/var/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    upstream = RegistryServer(auth="token", workdir=base / "upstream", extra_config=ACCESS_LOG).start()
    servers = [upstream]
    try:
        t0 = time.monotonic()
        up = build_upstream(upstream.client(), components=args.components, layer_size=parse_size(args.layer_size),
                            workers=4)
        print(f"synthetic upstream: {len(up.components)} components, {up.unique_blobs} unique blobs, "
              f"{up.total_bytes / 1e9:.2f} GB, built in {time.monotonic() - t0:.0f}s", flush=True)
        pull = upstream.authfile(base / "pull.json")
        ctx: dict = {"py": [sys.executable, "-m", "bundler.cli"], "cfg": up.write_config(base / "imageset.yaml"),
               "pull": pull, "ca": upstream.ca_file, "needs": _needs(up, pull, upstream.ca_file)}
        exports = []
        ctx["upstream"] = upstream
        ctx["warm"] = int(up.total_bytes * 1.25) + (512 << 20)  # the bundle or the uploads, and the process
        for i in range(args.rounds):
            exports.append(_export_round(i, base, args, ctx))
        gets = ctx["gets"]
        print(f"blob fetches     {sum(gets.values())} GETs for {len(gets)} distinct blobs by the last bundler export "
              f"(max {max(gets.values(), default=0)} per blob; upstream has {up.unique_blobs})")
        imports = [_import_round(i, base, args, ctx) for i in range(args.rounds)]
        f_exp, t_exp = min(e[0] for e in exports), min(e[1] for e in exports)
        f_imp, t_imp = min(e[0] for e in imports), min(e[1] for e in imports)
        rss = max(max(e[2] for e in exports), max(e[2] for e in imports))
        peak, size = max(e[3] for e in exports), exports[-1][4]
        budget = size * 1.05 + (1 << 30)
        print(f"best of {args.rounds}: export floor {f_exp:.1f}s, bundler {t_exp:.1f}s: {_ratio(t_exp, f_exp)} (goal <= 1.25x); "
              f"import floor {f_imp:.1f}s, bundler {t_imp:.1f}s: {_ratio(t_imp, f_imp)} (goal <= 1.15x)")
        print(f"median of the rounds' ratios: export {_paired(exports)}, import {_paired(imports)}")
        print(f"peak RSS {rss} MiB (goal < 300); peak disk {peak / 1e9:.2f} GB for a {size / 1e9:.2f} GB bundle "
              f"(budget bundle + 5% + 1 GiB = {budget / 1e9:.2f} GB: {'ok' if peak <= budget else 'OVER'})")
        if args.workaround:
            servers.append(_workaround(base, up, pull, upstream, t_exp + t_imp))
        return 0
    finally:
        for s in servers:
            s.close()
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


def _workaround(base: Path, up: object, pull: Path, upstream: RegistryServer, bundler_total: float) -> RegistryServer:
    """The seed's skopeo workaround on the same data (for the record: bundler used to be timed against it)."""
    tgt_s = RegistryServer(auth="basic", workdir=base / "target-skopeo").start()
    push_s = tgt_s.authfile(base / "push-s.json")
    images = [up.release, *up.components.values(), *up.additional]  # type: ignore[attr-defined]
    layout = base / "skopeo" / "layout"
    layout.parent.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    for ref in images:
        name = ref.split("/", 1)[1].replace("@", "-").replace(":", "-")
        timed(["skopeo", "copy", "--all", "-q", "--authfile", str(pull), "--src-cert-dir", str(upstream.cert_dir),
               f"docker://{ref}", f"oci:{layout}:{name}"])
    t_copy = time.monotonic() - t
    archive = base / "skopeo" / "layout.tar.zst"
    t = time.monotonic()
    subprocess.run(f"tar -C {layout} -cf - . | zstd -q -T0 -3 -o {archive}", shell=True, check=True)
    t_pack = time.monotonic() - t
    unpacked = base / "skopeo" / "unpacked"
    unpacked.mkdir()
    t = time.monotonic()
    subprocess.run(f"zstd -q -d -c {archive} | tar -C {unpacked} -xf -", shell=True, check=True)
    t_unpack = time.monotonic() - t
    t = time.monotonic()
    for i, ref in enumerate(images):
        name = ref.split("/", 1)[1].replace("@", "-").replace(":", "-")
        repo = re.split(r"[@]|:(?=[^/]*$)", ref.split("/", 1)[1])[0]
        timed(["skopeo", "copy", "--all", "-q", "--dest-authfile", str(push_s), "--dest-cert-dir",
               str(tgt_s.cert_dir), f"oci:{unpacked}:{name}", f"docker://{tgt_s.host}/{repo}:img{i}"])
    t_push = time.monotonic() - t
    total = t_copy + t_pack + t_unpack + t_push
    print(f"skopeo workaround: copy {t_copy:.1f}s + tar|zstd {t_pack:.1f}s + unzstd|untar {t_unpack:.1f}s "
          f"+ push {t_push:.1f}s = {total:.1f}s; bundler export+import {bundler_total:.1f}s: "
          f"{total / bundler_total:.2f}x faster")
    return tgt_s


if __name__ == "__main__":
    sys.exit(main())
