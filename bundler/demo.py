"""The demo: a synthetic upstream (token auth, TLS) and a target registry (Basic auth, TLS) on 127.0.0.1,
holding a release, additional images and a file-based operator catalog (two packages selected from it);
then `bundler export` and `bundler import` run end to end, as an admin would type them. The bundle also
carries a registry (`bootstrap:`): with the upstream stopped, `bundler import` without `--registry`
brings that registry up with podman and imports into it. The registry is the real Project Quay when its
images are built (shared/quay-image/build.sh), else the distribution flavor; the demo says which.

    python -m bundler.demo [DIR]        (DEMO_KEEP_REGISTRY=1 leaves the bootstrapped registry running)
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .synthetic import build_upstream
from .synthetic_catalogs import build_catalog_upstream
from .testing.registry import RegistryServer, free_port


def _run(args: list[str]) -> None:
    print(f"\n$ {shlex.join(args)}", flush=True)
    subprocess.run(args, check=True)


def _bootstrap_section(upstream: RegistryServer, base: Path) -> dict[str, object]:
    """The ``bootstrap:`` section: real Quay + Redis from podman storage when built, else Distribution;
    either way the images go into the upstream first, as Red Hat's would be in registry.redhat.io."""
    from testkit.real_quay import images_present, push_bootstrap_images  # test tooling (moves to testkit/)

    auth = upstream.authfile(base / "pull-secret.json")
    if images_present():
        print("The bundle carries the real Project Quay v3.12.18 + Redis (built by shared/quay-image/build.sh).")
        return {"images": push_bootstrap_images(upstream.host, auth, upstream.cert_dir)}
    from .quay.images import distribution_layout
    print("Real Quay images are not built (bash ../shared/quay-image/build.sh makes them): the bundle carries "
          "the distribution flavor (Docker Distribution from this host) instead.")
    layout, ref = base / "registry-image", f"{upstream.host}/library/registry:2.8.3"
    distribution_layout(layout)
    subprocess.run(["skopeo", "copy", "--quiet", "--dest-authfile", str(auth), "--dest-cert-dir",
                    str(upstream.cert_dir), f"oci:{layout}", f"docker://{ref}"], check=True)
    return {"flavor": "distribution", "images": {"registry": ref}}


def _bootstrap_import(bundler: list[str], bundle: Path, base: Path, flavor: str) -> None:
    """The second half of the mission: no --registry; the registry comes out of the bundle."""
    data_dir, outdir = base / f"registry-{flavor}", base / "install-bootstrapped"
    print(f"\nThe upstream is stopped: this side has only the bundle. Import it with no --registry ({flavor}):")
    _run([*bundler, "import", str(bundle), "-o", str(outdir), "--hostname", "127.0.0.1", "--port", str(free_port()),
          "--data-dir", str(data_dir), "--name", "bundler-demo", "--flavor", flavor])
    _run([*bundler, "quay", "status", "--data-dir", str(data_dir)])
    print(f"\nPull secret with the mirror's credentials (0600): {outdir / 'pull-secret.json'}")
    print(f"CA to trust (install-config additionalTrustBundle): {outdir / 'ca-bundle.pem'}")
    print(f"Registry data, certificates and credentials: {data_dir}")
    if os.environ.get("DEMO_KEEP_REGISTRY") != "1":
        _run([*bundler, "quay", "down", "--data-dir", str(data_dir)])
        print("(DEMO_KEEP_REGISTRY=1 leaves it running; `bundler quay up --data-dir ...` starts it again.)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    base = Path(argv[0] if argv else "demo-out").resolve()
    base.mkdir(parents=True, exist_ok=True)
    bundler = [sys.executable, "-m", "bundler.cli"]
    print("Starting a synthetic upstream (Bearer token auth, TLS) and a target registry (Basic auth, TLS) ...")
    with RegistryServer(auth="token", workdir=base / "upstream-registry") as upstream, \
            RegistryServer(auth="basic", workdir=base / "target-registry") as target:
        t0 = time.monotonic()
        up = build_upstream(upstream.client(), version="4.4.5", components=24, layer_size=256 * 1024,
                            multi_release=True)
        print(up.summary())
        print(f"(built in {time.monotonic() - t0:.1f}s)")
        catalogs = build_catalog_upstream(upstream.client())
        doc = up.config()
        doc["mirror"]["operators"] = [{
            "catalog": catalogs.catalogs["fbc"],
            "packages": [{"name": "multichannel-operator", "channels": [{"name": "fast"}]},
                         {"name": "valuebug-operator"}],
        }]
        doc["bootstrap"] = _bootstrap_section(upstream, base)
        flavor = str(doc["bootstrap"].get("flavor", "quay"))
        config = base / "imageset.yaml"
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        upstream.authfile(base / "pull-secret.json")
        target.authfile(base / "mirror-auth.json")
        bundle = base / "bundle" / "ocp-4.4.5.tar.zst"
        common = ["--ca-file", str(upstream.ca_file)]
        _run([*bundler, "export", "-c", str(config), "-o", str(bundle), "--authfile", str(base / "pull-secret.json"),
              *common, "--dry-run"])
        _run([*bundler, "export", "-c", str(config), "-o", str(bundle), "--authfile", str(base / "pull-secret.json"),
              *common, "--split-size", "2M" if flavor == "distribution" else "128M"])
        _run([*bundler, "inspect", str(bundle)])
        _run([*bundler, "verify", str(bundle)])
        outdir = base / "install"
        _run([*bundler, "import", str(bundle), "--registry", f"{target.host}/ocp4", "--authfile",
              str(base / "mirror-auth.json"), "--ca-file", str(target.ca_file), "-o", str(outdir)])
        print(f"\nDemo complete. Bundle parts: {bundle.parent}\nOutputs for the install: {outdir}")
        for p in sorted(outdir.iterdir()):
            print(f"  {p}")
        print("\n--- imageDigestSources.yaml (paste into install-config.yaml) ---")
        print((outdir / "imageDigestSources.yaml").read_text())
        for catalog_source in sorted(outdir.glob("catalogSource-*.yaml")):
            print(f"--- {catalog_source.name} (oc apply -f) ---")
            print(catalog_source.read_text())
    _bootstrap_import(bundler, bundle, base, flavor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
