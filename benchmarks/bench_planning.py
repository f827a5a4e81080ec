"""Planning the content kinds at once against one after another, on the same configuration and upstream.

Builds a synthetic release (``--components``) and the synthetic operator catalogs in a real registry
(token auth, TLS), and plans an ImageSetConfiguration naming the release, the file-based catalog (every
package) and the additional images, as ``bundler export`` plans before its pull (the sigstore lookups
aside). Each round plans twice with fresh connections and tokens, in turn: the chains at once (bundler's
way since 2026-12-03) and every kind in one chain. Prints each round and the medians.

Loopback has no latency, and a real upstream (quay.io, registry.redhat.io) is 20-100 ms away: with ``--rtt``
the registry is reached through a relay (:mod:`testkit.throttle`) holding every chunk half that long each
way (the token service is reached directly).

    python benchmarks/bench_planning.py [--components 100] [--rounds 5] [--workers 8] [--rtt 0.04]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit/ lives beside bundler/, outside the wheel

from bundler import config as bconfig  # noqa: E402
from bundler import content  # noqa: E402
from bundler.auth import AuthStore  # noqa: E402
from bundler.plan import Plan, PlanContext  # noqa: E402
from bundler.registry import RegistryPool  # noqa: E402
from bundler.registry.client import RegistryClient  # noqa: E402
from bundler.release_options import ReleaseOptions  # noqa: E402
from bundler.transport.overlay import OverlaySource  # noqa: E402
from bundler.transport.registry import RegistrySource  # noqa: E402
from testkit.registry import RegistryServer, write_authfile  # noqa: E402
from testkit.synthetic import build_upstream  # noqa: E402
from testkit.synthetic_catalogs import build_catalog_upstream  # noqa: E402
from testkit.throttle import Throttle  # noqa: E402


def plan_once(cfg_path: Path, auth: Path, ca: Path | None, workers: int) -> tuple[float, int]:
    """Seconds to plan, and how many images were planned."""
    pool = RegistryPool(AuthStore.load(auth), ca)
    ctx = PlanContext(config=bconfig.load(cfg_path), source=OverlaySource(RegistrySource(pool), []), plan=Plan(),
                      workers=workers, pool=pool, release=ReleaseOptions(ignore_release_signature=True))
    start = time.monotonic()
    content.plan_all(ctx, alongside=True)
    return time.monotonic() - start, len(ctx.plan.images)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--components", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--rtt", type=float, default=0.0, help="round trip to the registry, seconds (default 0)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bundler-plan-bench-", dir="/var/tmp") as tmp:
        base = Path(tmp)
        with RegistryServer(auth="token", workdir=base / "upstream") as server, \
                Throttle(server.host, rate=None) as relay:
            # built through the relay (no delay yet), so that every reference names it
            client = RegistryClient(relay.host, credentials=server.client().credentials, ca_file=server.ca_file)
            up = build_upstream(client, components=args.components, layer_size=64 << 10, workers=4)
            catalogs = build_catalog_upstream(client)
            relay.delay = args.rtt / 2
            doc = up.config()
            doc["mirror"]["operators"] = [{"catalog": catalogs.catalogs["fbc"], "full": True}]
            cfg = base / "imageset.yaml"
            cfg.write_text(yaml.safe_dump(doc, sort_keys=False))
            auth = write_authfile(base / "auth.json", {relay.host: (server.username, server.password)})
            chains = content.CHAINS
            one_chain = (tuple(kind for chain in chains for kind in chain),)
            at_once: list[float] = []
            in_turn: list[float] = []
            for i in range(args.rounds):
                for label, setting, results in (("at once", chains, at_once), ("one after another", one_chain, in_turn)):
                    content.CHAINS = setting
                    seconds, images = plan_once(cfg, auth, server.ca_file, args.workers)
                    results.append(seconds)
                    print(f"round {i}: {label:18s} {seconds:.3f}s ({images} images)", flush=True)
            content.CHAINS = chains
    print(f"round trip {args.rtt * 1000:.0f} ms; median: at once {statistics.median(at_once):.3f}s, "
          f"one after another {statistics.median(in_turn):.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
