"""The demo: a synthetic upstream (token auth, TLS) holding releases 4.4.5 and 4.4.6 (sharing most of their
components), additional images and a file-based operator catalog; an update service and a release signature
store (TLS) naming and signing those releases; a target registry (Basic auth, TLS), all on 127.0.0.1. The
releases are selected by channel (``stable-4.4`` from 4.4.5: an upgrade bundle), verified against the test
release key, carried with their sigstore signatures, the update service's graph-data image, the KubeVirt
disk and the matching ``oc``/``openshift-install``; then `bundler export` and `bundler import` run end to
end, as an admin would type them. The bundle also carries a registry (``bootstrap:``): with the upstream
stopped, `bundler import` without `--registry` brings that registry up with podman and imports into it. The
registry is the real Project Quay when its images are built (shared/quay-image/build.sh), else the
distribution flavor; the demo says which.

    python -m testkit.demo [DIR]        (DEMO_KEEP_REGISTRY=1 leaves the bootstrapped registry running)
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .certs import CA
from .graph_server import UpdateServer
from .registry import RegistryServer, free_port
from .releases import build_series, sign_series
from .signing import GpgSigner
from .synthetic import push_multiarch
from .synthetic_catalogs import build_catalog_upstream


def _run(args: list[str], env: dict[str, str] | None = None) -> None:
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    print(f"\n$ {shown + ' ' if shown else ''}{shlex.join(args)}", flush=True)
    subprocess.run(args, check=True, env={**os.environ, **(env or {})})


def _bootstrap_section(upstream: RegistryServer, base: Path) -> dict[str, object]:
    """The ``bootstrap:`` section: real Quay + Redis from podman storage when built, else Distribution;
    either way the images go into the upstream first, as Red Hat's would be in registry.redhat.io."""
    from bundler.quay.images import distribution_layout

    from .real_quay import images_present, push_bootstrap_images

    auth = upstream.authfile(base / "pull-secret.json")
    if images_present():
        print("The bundle carries the real Project Quay v3.12.18 + Redis (built by shared/quay-image/build.sh).")
        return {"images": push_bootstrap_images(upstream.host, auth, upstream.cert_dir)}
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


def _config(base: Path, upstream: str, additional: list[str], catalog: str, bootstrap: dict[str, object]) -> Path:
    doc = {
        "kind": "ImageSetConfiguration",
        "apiVersion": "mirror.openshift.io/v2alpha1",
        "mirror": {
            "platform": {"channels": [{"name": "stable-4.4", "minVersion": "4.4.5"}],
                         "graph": True, "kubeVirtContainer": True},
            "additionalImages": [{"name": ref} for ref in additional],
            "operators": [{"catalog": catalog,
                           "packages": [{"name": "multichannel-operator", "channels": [{"name": "fast"}]},
                                        {"name": "valuebug-operator"}]}],
        },
        "bootstrap": bootstrap,
    }
    config = base / "imageset.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    base = Path(argv[0] if argv else "demo-out").resolve()
    base.mkdir(parents=True, exist_ok=True)
    bundler = [sys.executable, "-m", "bundler.cli"]
    ca = CA.create("bundler demo CA")
    print("Starting a synthetic upstream (Bearer token auth, TLS), an update service with a signature store (TLS) "
          "and a target registry (Basic auth, TLS) ...")
    with RegistryServer(ca=ca, auth="token", workdir=base / "upstream-registry") as upstream, \
            RegistryServer(auth="basic", workdir=base / "target-registry") as target, \
            GpgSigner("bundler demo release key", "ed25519") as signer:
        t0 = time.monotonic()
        series = build_series(upstream.client(), ("4.4.5", "4.4.6"), components=24, layer_size=256 * 1024)
        sign_series(upstream.client(), series, release="4.4.6")
        push_multiarch(upstream.client(), "ubi9/ubi", "latest",
                       {a: {"etc/os-release": f"NAME=ubi9 {a}\n".encode()} for a in ("amd64", "arm64")})
        print(series.upstream.summary())
        for version, rel in series.releases.items():
            print(f"release {version:<7} {rel.tag_ref} ({rel.digest})")
        print(f"(built in {time.monotonic() - t0:.1f}s)")
        catalogs = build_catalog_upstream(upstream.client())
        bootstrap = _bootstrap_section(upstream, base)
        flavor = str(bootstrap.get("flavor", "quay"))
        config = _config(base, upstream.host, series.upstream.additional_images, catalogs.catalogs["fbc"], bootstrap)
        upstream.authfile(base / "pull-secret.json")
        target.authfile(base / "mirror-auth.json")
        key = signer.write_public_key(base / "release-key.asc")
        with UpdateServer(series.universe(), ca=ca, workdir=base / "update-service") as osus:
            for hexdigest, sigs in series.sign_releases(signer).items():
                osus.signatures[hexdigest] = sigs
            env = {"OCP_SIGNATURE_URL": osus.signature_url}
            bundle = base / "bundle" / "ocp-4.4.5-4.4.6.tar.zst"
            export = [*bundler, "export", "-c", str(config), "-o", str(bundle), "--authfile",
                      str(base / "pull-secret.json"), "--ca-file", str(upstream.ca_file), "--graph-url", osus.url,
                      "--release-key", str(key), "--graph-base-image", f"{upstream.host}/ubi9/ubi:latest",
                      "--extract-tools"]
            _run([*export, "--dry-run"], env)
            _run([*export, "--split-size", "4M" if flavor == "distribution" else "128M"], env)
        _run([*bundler, "inspect", str(bundle)])
        _run([*bundler, "verify", str(bundle)])
        outdir = base / "install"
        _run([*bundler, "import", str(bundle), "--registry", f"{target.host}/ocp4", "--authfile",
              str(base / "mirror-auth.json"), "--ca-file", str(target.ca_file), "-o", str(outdir)])
        _show(bundle, outdir)
    _bootstrap_import(bundler, bundle, base, flavor)
    return 0


def _show(bundle: Path, outdir: Path) -> None:
    print(f"\nDemo complete. Bundle parts: {bundle.parent}\nOutputs for the install: {outdir}")
    for p in sorted(outdir.rglob("*")):
        if p.is_file():
            print(f"  {p}")
    print("\n--- imageDigestSources.yaml (paste into install-config.yaml) ---")
    print((outdir / "imageDigestSources.yaml").read_text())
    for name in ("updateService.yaml", "signature-configmap.yaml"):
        print(f"--- {name} (oc apply -f) ---")
        text = (outdir / name).read_text()
        print(text if len(text) < 1500 else text[:1500] + "...\n")
    for catalog_source in sorted(outdir.glob("catalogSource-*.yaml")):
        print(f"--- {catalog_source.name} (oc apply -f) ---")
        print(catalog_source.read_text())


if __name__ == "__main__":
    sys.exit(main())
