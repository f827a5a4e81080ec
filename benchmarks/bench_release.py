"""Speed and memory: bundler export+import against the seed's skopeo workaround on the same data.

Builds a synthetic release (default 100 components of ~10 MiB: > 1 GB) in a real registry (token auth,
TLS), then times, end to end:

* bundler:  `bundler export` (one bundle, split parts) + `bundler import` into a fresh registry;
* workaround: `skopeo copy --all` of each image into one shared OCI layout, `tar | zstd`, then on the
  other side `zstd -d | tar x` and `skopeo copy --all` of each image into a fresh registry.

Prints both times, the ratio, bundler's peak RSS (per command, from wait4) and how many times each
shared blob was fetched from the upstream (from the registry's access log).

    python benchmarks/bench_release.py [--components 100] [--layer-size 10M] [--workers 8] [--dir /var/tmp/bench]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit/ lives beside bundler/, outside the wheel

from bundler.bundle.parts import parse_size  # noqa: E402
from testkit.registry import RegistryServer  # noqa: E402
from testkit.synthetic import build_upstream  # noqa: E402

ACCESS_LOG = {"log": {"level": "warn", "accesslog": {"disabled": False}, "formatter": "text"}}


def timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run a command; return (seconds, its peak RSS in MiB). GNU time measures the command itself: a
    forked child's own max-RSS would start at this (large) benchmark process's size."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        start = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *args], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(f"command failed: {' '.join(args)}\n{proc.stderr.decode()[-2000:]}")
        return elapsed, int(Path(rss.name).read_text().split()[-1]) // 1024


def blob_gets(server: RegistryServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in re.finditer(r'"GET /v2/\S+/blobs/(sha256:[0-9a-f]{64})', server.log_file.read_text()):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--components", type=int, default=100)
    ap.add_argument("--layer-size", default="10M")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir under /var/tmp)")
    ap.add_argument("--skip-workaround", action="store_true")
    args = ap.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="bundler-bench-", dir="/var/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    py = [sys.executable, "-m", "bundler.cli"]
    upstream = RegistryServer(auth="token", workdir=base / "upstream", extra_config=ACCESS_LOG).start()
    tgt_b = RegistryServer(auth="basic", workdir=base / "target-bundler").start()
    tgt_s = RegistryServer(auth="basic", workdir=base / "target-skopeo").start()
    try:
        t0 = time.monotonic()
        up = build_upstream(upstream.client(), components=args.components, layer_size=parse_size(args.layer_size),
                            workers=4)
        print(f"synthetic upstream: {len(up.components)} components, {up.unique_blobs} unique blobs, "
              f"{up.total_bytes / 1e9:.2f} GB, built in {time.monotonic() - t0:.0f}s", flush=True)
        cfg = up.write_config(base / "imageset.yaml")
        pull = upstream.authfile(base / "pull.json")
        push_b = tgt_b.authfile(base / "push-b.json")
        push_s = tgt_s.authfile(base / "push-s.json")
        upstream.log_file.write_text("")  # count only what the runs below fetch

        bundle = base / "bundler" / "ocp.tar.zst"
        t_exp, rss_exp = timed([*py, "export", "-c", str(cfg), "-o", str(bundle), "--authfile", str(pull),
                                "--ca-file", str(upstream.ca_file), "--workers", str(args.workers), "--split-size", "1G",
                                "--ignore-release-signature"])  # the synthetic release has no signature store
        gets = blob_gets(upstream)
        t_imp, rss_imp = timed([*py, "import", str(bundle), "--registry", tgt_b.host, "--authfile", str(push_b),
                                "--ca-file", str(tgt_b.ca_file), "--workers", str(args.workers), "-o", str(base / "out")])
        bundler_total = t_exp + t_imp
        size = sum(p.stat().st_size for p in bundle.parent.glob("ocp.tar.zst.[0-9]*"))
        print(f"bundler export   {t_exp:7.1f}s  peak RSS {rss_exp} MiB  bundle {size / 1e9:.2f} GB")
        print(f"bundler import   {t_imp:7.1f}s  peak RSS {rss_imp} MiB")
        print(f"blob fetches     {sum(gets.values())} GETs for {len(gets)} distinct blobs "
              f"(max {max(gets.values(), default=0)} per blob; upstream has {up.unique_blobs})", flush=True)
        if args.skip_workaround:
            return 0

        images = [up.release, *up.components.values(), *up.additional]
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
        skopeo_total = t_copy + t_pack + t_unpack + t_push
        print(f"skopeo workaround: copy {t_copy:.1f}s + tar|zstd {t_pack:.1f}s + unzstd|untar {t_unpack:.1f}s "
              f"+ push {t_push:.1f}s = {skopeo_total:.1f}s")
        print(f"bundler total    {bundler_total:7.1f}s")
        print(f"ratio            {skopeo_total / bundler_total:.2f}x faster (target >= 3x); "
              f"peak RSS {max(rss_exp, rss_imp)} MiB (target < 300 MiB)")
        return 0
    finally:
        for s in (upstream, tgt_b, tgt_s):
            s.close()
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
