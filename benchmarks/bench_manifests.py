"""What a manifest costs the target registry: the import's last phase (every manifest, after every blob),
which the import floor does not have.

Starts a fresh Docker Distribution registry (TLS, ``--auth basic`` or ``token``), pushes ``--count`` images'
small blobs untimed (each image in its own repository, as an import lays them out), then times ``--count``
manifest PUTs one at a time, the next ``--count`` 8 at once (as the import pushes them), and HEADs of a
missing blob (the least a request costs; with token auth it includes a token request for each
repository's pull scope). Prints milliseconds a request.

    python benchmarks/bench_manifests.py [--count 117] [--auth basic]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # testkit/ lives beside bundler/, outside the wheel

from bundler.oci import Manifest, mediatypes  # noqa: E402
from bundler.registry import RegistryClient  # noqa: E402
from testkit.registry import RegistryServer  # noqa: E402
from testkit.synthetic import push_blob  # noqa: E402

WORKERS = 8


def _blob(client: RegistryClient, repo: str, data: bytes, media_type: str) -> dict[str, object]:
    return {"mediaType": media_type, "digest": push_blob(client, repo, data), "size": len(data)}


def image(client: RegistryClient, index: int) -> tuple[str, Manifest]:
    """An image's repository and manifest, its config and layer already pushed there."""
    repo = f"bench/image{index}"
    config = _blob(client, repo, json.dumps({"architecture": "amd64", "os": "linux", "n": index}).encode(),
                   mediatypes.OCI_CONFIG)
    layer = _blob(client, repo, os.urandom(1024), mediatypes.OCI_LAYER)
    doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "config": config, "layers": [layer]}
    return repo, Manifest.from_bytes(json.dumps(doc).encode(), mediatypes.OCI_MANIFEST)


def per_request(items: Sequence[tuple[str, Manifest]], workers: int, call: Callable[[str, Manifest], object]) -> float:
    """Milliseconds a request, ``workers`` at once."""
    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda item: call(*item), items))
    return (time.monotonic() - start) / len(items) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=117, help="manifests a way (117: the 1 GB benchmark's import)")
    ap.add_argument("--auth", choices=("basic", "token"), default="basic")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-manifests-") as tmp:
        server = RegistryServer(auth=args.auth, workdir=Path(tmp) / "registry").start()
        try:
            client = server.client()
            with ThreadPoolExecutor(WORKERS) as pool:
                items = list(pool.map(lambda i: image(client, i), range(2 * args.count)))
            alone = per_request(items[:args.count], 1, lambda repo, m: client.put_manifest(repo, "alone", m))
            together = per_request(items[args.count:], WORKERS, lambda repo, m: client.put_manifest(repo, "together", m))
            head = per_request(items[:args.count], 1, lambda repo, m: client.has_blob(repo, "sha256:" + "0" * 64))
        finally:
            server.close()
    print(f"{args.auth} auth, {args.count} manifests: a PUT {alone:.1f} ms one at a time, {together:.1f} ms each "
          f"{WORKERS} at once ({together * args.count / 1000:.2f} s for all); a HEAD {head:.1f} ms")


if __name__ == "__main__":
    main()
