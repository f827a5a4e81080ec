"""`bundler import` without --registry, end to end with real podman: the registry image travels in the
bundle (at its front), is loaded into podman storage from the bundle stream, the stack comes up, and the
same pass over the bundle imports everything into it.

Here the carried registry is the distribution flavor (Debian's Docker Distribution binary packed into a
locally built OCI image, served by a real upstream registry): seconds instead of minutes. The same flow
with the real Project Quay is tests/test_quay_real_e2e.py."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bundler import quay
from bundler.auth import Credentials
from bundler.cli import app
from bundler.quay.images import distribution_layout
from bundler.registry.client import RegistryClient
from testkit.registry import RegistryServer, free_port
from testkit.synthetic import build_upstream

runner = CliRunner()


@pytest.fixture()
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The stack's data dir; afterwards the stack is purged and the image name it loaded removed."""
    d = tmp_path / "quay-data"
    yield d
    state = quay.stack.load_state(d)
    quay.stack_down(d, purge=True)
    loaded = [ref for ref in (state.images.values() if state else []) if ref.startswith("127.0.0.1:")]
    if loaded:
        subprocess.run(["podman", "rmi", *loaded], capture_output=True, check=False)


def test_import_bootstraps_its_registry_from_the_bundle(tmp_path: Path, data_dir: Path) -> None:
    with RegistryServer(auth="basic") as upstream:
        up = build_upstream(upstream.client(), components=3, layer_size=16 * 1024)
        auth = upstream.authfile(tmp_path / "pull-secret.json")
        layout = tmp_path / "registry-image"
        distribution_layout(layout)
        registry_ref = f"{upstream.host}/library/registry:2.8.3"
        subprocess.run(["skopeo", "copy", "--quiet", "--dest-authfile", str(auth), "--dest-cert-dir",
                        str(upstream.cert_dir), f"oci:{layout}", f"docker://{registry_ref}"],
                       check=True, capture_output=True)
        doc = up.config()
        doc["bootstrap"] = {"flavor": "distribution", "images": {"registry": registry_ref}}
        cfg = tmp_path / "imageset.yaml"
        cfg.write_text(yaml.safe_dump(doc))
        bundle = tmp_path / "media" / "b.tar.zst"
        result = runner.invoke(app, ["export", "-c", str(cfg), "-o", str(bundle), "--authfile", str(auth),
                                     "--ca-file", str(upstream.ca_file)])
        assert result.exit_code == 0, result.output

    # the upstream is gone: the air-gapped side has only the bundle
    result = runner.invoke(app, ["inspect", str(bundle), "--json"])
    meta = json.loads(result.output)
    boot = [i for i in meta["images"] if i["kind"] == "bootstrap"]
    assert [i["source"] for i in boot] == [registry_ref]
    assert meta["bootstrapBlobs"], "the registry image's blobs are at the front of the archive"

    port = free_port()
    out = tmp_path / "install"
    result = runner.invoke(app, ["import", str(bundle), "-o", str(out), "--flavor", "distribution",
                                 "--hostname", "localhost", "--port", str(port), "--data-dir", str(data_dir),
                                 "--authfile", str(auth), "--name", f"bti{port}"])
    assert result.exit_code == 0, result.output
    host = f"localhost:{port}"
    assert (out / "ca-bundle.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    secret = out / "pull-secret.json"
    assert secret.stat().st_mode & 0o777 == 0o600
    auths = json.loads(secret.read_text())["auths"]
    assert upstream.host in auths, "the input pull secret is kept"
    user, _, password = base64.b64decode(auths[host]["auth"]).decode().partition(":")
    assert password not in result.output
    client = RegistryClient(host, ca_file=out / "ca-bundle.pem", credentials=Credentials(user, password))
    for img in meta["images"]:
        if img["kind"] == "bootstrap":
            continue
        repo = img["name"].split("/", 1)[1]
        assert client.head_manifest(repo, img["digest"]) == img["digest"], img["source"]
    ids = yaml.safe_load((out / "imageDigestSources.yaml").read_text())["imageDigestSources"]
    assert all(m.startswith(f"{host}/") for rule in ids for m in rule["mirrors"])
    status = quay.stack_status(data_dir)
    assert status, status
