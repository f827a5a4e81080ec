"""pytest fixtures around ONE real Project Quay, bootstrapped by ``bundler import`` without ``--registry``.

``real_quay_images``: build.sh once per session (cached in podman storage across sessions); when it
cannot run, every test using it ERRORS with the build's own words (never skips, never passes).

``real_quay``: the whole air-gap flow once per session, shared by the real-Quay tests (Quay's first boot
and the bundle are the slow parts): a synthetic upstream (token auth, TLS) holding a release, additional
images (a Docker manifest list, an OCI index), an operator catalog and the real Quay + Redis images
(``skopeo copy containers-storage:… docker://…``); ``bundler export`` with ``bootstrap:`` naming them; the
upstream stopped; ``bundler import`` with no ``--registry`` and ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``
pointing at an unrelated CA, while the process list is sampled for secrets. Pod names are unique to the
session; the stack is purged and the image names it loaded are removed afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .certs import CA
from .real_quay import BuiltImages, QuayImagesUnavailable, build_images, push_bootstrap_images
from .registry import RegistryServer, free_port
from .synthetic import Upstream, build_upstream
from .synthetic_catalogs import build_catalog_upstream

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class QuayRun:
    """The shared real Quay and everything its first import produced."""

    name: str                 # pod <name>-pod, containers <name>-app, <name>-redis
    host: str                 # 127.0.0.1:<port>
    data_dir: Path
    out: Path                 # outputs of the first import
    bundle: Path
    env: dict[str, str]       # the environment bundler ran in (REQUESTS_CA_BUNDLE = an unrelated CA)
    upstream: Upstream
    catalog_ref: str
    import_output: str
    ps_lines: set[str] = field(default_factory=set)  # every command line seen while the import ran
    quay_log: str = ""        # the Quay container's log right after the first import
    timings: dict[str, float] = field(default_factory=dict)

    def bundler(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run the bundler CLI as a user would, in this run's environment."""
        return subprocess.run([sys.executable, "-m", "bundler.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def credentials(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "quay-credentials").read_text()))

    def secret_values(self) -> list[str]:
        """Every secret the stack holds: admin password and token, robot and reader tokens, internal keys."""
        creds = self.credentials()
        values = [creds["admin_password"], str(creds.get("admin_token") or "")]
        values += [r["token"] for r in creds.get("robots", {}).values()]
        values.append(creds["reader"]["token"])
        values += list(json.loads((self.data_dir / "secrets" / "secrets.json").read_text()).values())
        return [v for v in values if v]


class ProcessSampler:
    """Collects every command line on the host (``ps -eo args``) every ``interval`` seconds."""

    def __init__(self, interval: float = 0.3) -> None:
        self.lines: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            res = subprocess.run(["ps", "-eo", "args", "--no-headers"], capture_output=True, text=True, check=False)
            self.lines.update(line.strip() for line in res.stdout.splitlines())
            self._stop.wait(interval)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="session")
def real_quay_images() -> BuiltImages:
    """Project Quay v3.12.18 + Redis built from source by shared/quay-image/build.sh (cached)."""
    try:
        return build_images()
    except QuayImagesUnavailable as exc:
        pytest.fail(f"the real Quay images cannot be built, so the real-Quay tests cannot run: {exc}", pytrace=False)


def _export(base: Path, env: dict[str, str], timings: dict[str, float]) -> tuple[Path, Upstream, str]:
    """Synthetic upstream + the real Quay/Redis images -> one bundle; the upstream is stopped after."""
    with RegistryServer(auth="token", workdir=base / "upstream") as upstream:
        t0 = time.monotonic()
        up = build_upstream(upstream.client(), version="4.4.5", components=6, layer_size=16 * 1024)
        catalogs = build_catalog_upstream(upstream.client())
        timings["synthetic upstream"] = time.monotonic() - t0
        auth = upstream.authfile(base / "upstream-auth.json")
        t0 = time.monotonic()
        boot = push_bootstrap_images(upstream.host, auth, upstream.cert_dir)
        timings["push quay+redis images upstream"] = time.monotonic() - t0
        doc = up.config()
        doc["mirror"]["operators"] = [{"catalog": catalogs.catalogs["fbc"], "packages": [
            {"name": "multichannel-operator", "channels": [{"name": "fast"}]}, {"name": "valuebug-operator"}]}]
        doc["bootstrap"] = {"images": boot}
        isc = base / "imageset.yaml"
        isc.write_text(yaml.safe_dump(doc, sort_keys=False))
        bundle = base / "media" / "mirror.tar.zst"
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "bundler.cli", "export", "-c", str(isc), "-o", str(bundle),
                              "--authfile", str(auth), "--ca-file", str(upstream.ca_file)],
                             env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stdout + res.stderr
        timings["export"] = time.monotonic() - t0
        return bundle, up, catalogs.catalogs["fbc"]


def _loaded_images(data_dir: Path) -> list[str]:
    """The names the import loaded the bootstrap images under (build.sh's own tags keep the layers)."""
    try:
        images = json.loads((data_dir / "stack.json").read_text()).get("images", {})
    except (OSError, ValueError):
        return []
    return [ref for ref in images.values() if ref.startswith("127.0.0.1:")]


@pytest.fixture(scope="session")
def real_quay(real_quay_images: BuiltImages, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuayRun]:
    base = tmp_path_factory.mktemp("real-quay")
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(ROOT / "compose" / "containers.conf"))
    timings = {"build.sh": real_quay_images.seconds}
    bundle, up, catalog_ref = _export(base, env, timings)
    unrelated = base / "unrelated-ca.pem"   # e.g. a corporate proxy's CA: it must not replace the stack's CA
    unrelated.write_bytes(CA.create("unrelated corporate proxy CA").pem)
    env.update(REQUESTS_CA_BUNDLE=str(unrelated), CURL_CA_BUNDLE=str(unrelated))
    name = "bq" + secrets.token_hex(3)
    host = f"127.0.0.1:{free_port()}"
    data_dir, out = base / "quay-data", base / "install"
    run = QuayRun(name=name, host=host, data_dir=data_dir, out=out, bundle=bundle, env=env, upstream=up,
                  catalog_ref=catalog_ref, import_output="", timings=timings)
    try:
        t0 = time.monotonic()
        with ProcessSampler() as ps:
            res = run.bundler("import", str(bundle), "-o", str(out), "--hostname", "127.0.0.1", "--port",
                              host.split(":")[1], "--data-dir", str(data_dir), "--name", name)
        timings["import (bootstrap + push)"] = time.monotonic() - t0
        run.ps_lines = ps.lines
        run.import_output = res.stdout + res.stderr
        assert res.returncode == 0, run.import_output
        logs = subprocess.run(["podman", "logs", f"{name}-app"], capture_output=True, text=True, check=False)
        run.quay_log = logs.stdout + logs.stderr
        yield run
    finally:
        print("\nreal Quay session fixture: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
        loaded = _loaded_images(data_dir)
        subprocess.run([sys.executable, "-m", "bundler.cli", "quay", "down", "--purge", "--data-dir", str(data_dir)],
                       env=env, cwd=ROOT, capture_output=True, check=False)
        if loaded:
            subprocess.run(["podman", "rmi", *loaded], capture_output=True, check=False)
