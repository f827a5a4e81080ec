"""The demo: a synthetic upstream (token auth, TLS) and a target registry (Basic auth, TLS) on 127.0.0.1,
holding a release, additional images and a file-based operator catalog (two packages selected from it);
then `bundler export` and `bundler import` run end to end, as an admin would type them.

    python -m testkit.demo [DIR]
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .registry import RegistryServer
from .synthetic import build_upstream
from .synthetic_catalogs import build_catalog_upstream


def _run(args: list[str]) -> None:
    print(f"\n$ {shlex.join(args)}", flush=True)
    subprocess.run(args, check=True)


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
        config = base / "imageset.yaml"
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        upstream.authfile(base / "pull-secret.json")
        target.authfile(base / "mirror-auth.json")
        bundle = base / "bundle" / "ocp-4.4.5.tar.zst"
        common = ["--ca-file", str(upstream.ca_file)]
        _run([*bundler, "export", "-c", str(config), "-o", str(bundle), "--authfile", str(base / "pull-secret.json"),
              *common, "--dry-run"])
        _run([*bundler, "export", "-c", str(config), "-o", str(bundle), "--authfile", str(base / "pull-secret.json"),
              *common, "--split-size", "2M"])
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
