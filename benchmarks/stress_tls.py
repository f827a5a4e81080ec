"""New TLS connections from many threads through bundler's one shared SSL context, counting TLS failures.

Every worker thread of bundler opens its own connections, all verifying against one SSL context per CA file
(:mod:`bundler.http`). urllib3 used to write its ALPN list into that context for each connection, while
another thread's new connection copied it: now and then a ClientHello went out broken and the registry
answered with an "unexpected message" alert (seen once in a CI run, once in 24,000 connections here under
load with that code). This opens ``--connections`` fresh sessions, ``--threads`` at once, against a real
registry (TLS, Basic auth) and prints how many failed; run it beside a CPU hog to widen the window:

    python benchmarks/stress_tls.py [--connections 8000] [--threads 16]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit/ lives beside bundler/, outside the wheel

from bundler import http  # noqa: E402
from testkit.registry import RegistryServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=16)
    args = ap.parse_args()
    failures: list[str] = []
    with RegistryServer(auth="basic") as server:
        def connect(_: int) -> int:
            try:
                with http.TrustedSession(str(server.ca_file)) as session:
                    return session.get(f"https://{server.host}/v2/", timeout=10).status_code
            except requests.exceptions.SSLError as exc:
                failures.append(str(exc)[-160:])
                return -1

        start = time.monotonic()
        with ThreadPoolExecutor(args.threads) as pool:
            codes = list(pool.map(connect, range(args.connections)))
    print(f"{len(codes)} connections in {time.monotonic() - start:.1f}s, {args.threads} at once: "
          f"{codes.count(401)} answered, {len(failures)} TLS failures")
    for failure in failures[:5]:
        print("  " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
