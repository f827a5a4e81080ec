"""The demo: a synthetic upstream (token auth, TLS) holding releases 4.4.5 and 4.4.6 (sharing most of their
components), additional images and a file-based operator catalog; an update service and a release signature
store (TLS) naming and signing those releases; a target registry (Basic auth, TLS), all on 127.0.0.1. The
releases are selected by channel (``stable-4.4`` from 4.4.5: an upgrade bundle), verified against the test
release key, carried with their sigstore signatures, the update service's graph-data image, the KubeVirt
disk and the matching ``oc``/``openshift-install``; then `bundler export` and `bundler import` run end to
end, as an admin would type them.

    python -m testkit.demo [DIR]
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
from .registry import RegistryServer
from .releases import build_series, sign_series
from .signing import GpgSigner
from .synthetic import push_multiarch
from .synthetic_catalogs import build_catalog_upstream


def _run(args: list[str], env: dict[str, str] | None = None) -> None:
    shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    print(f"\n$ {shown + ' ' if shown else ''}{shlex.join(args)}", flush=True)
    subprocess.run(args, check=True, env={**os.environ, **(env or {})})


def _config(base: Path, upstream: str, additional: list[str], catalog: str) -> Path:
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
        config = _config(base, upstream.host, series.upstream.additional_images, catalogs.catalogs["fbc"])
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
            _run([*export, "--split-size", "4M"], env)
        _run([*bundler, "inspect", str(bundle)])
        _run([*bundler, "verify", str(bundle)])
        outdir = base / "install"
        _run([*bundler, "import", str(bundle), "--registry", f"{target.host}/ocp4", "--authfile",
              str(base / "mirror-auth.json"), "--ca-file", str(target.ca_file), "-o", str(outdir)])
        _show(bundle, outdir)
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
