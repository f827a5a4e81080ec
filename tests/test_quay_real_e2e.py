"""`bundler import` without --registry against a REAL Project Quay v3.12.18, end to end.

The ``real_quay`` session fixture (testkit/quay_fixtures.py) builds the Quay and Redis images from source
(shared/quay-image/build.sh), carries them as ``bootstrap:`` images in a bundle exported from a synthetic
upstream, stops the upstream, and imports with no ``--registry`` while ``REQUESTS_CA_BUNDLE`` names an
unrelated CA. These tests check what an admin relies on afterwards: every image pulls by digest with
podman through the written registries.conf, pull secret and CA; the pull secret resolves for every
repository with podman and skopeo; a re-import pushes nothing; ``quay down`` + ``quay up`` keep the CA,
the database, the users and the robots; no secret leaks; secret files are 0600.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundler.oci import parse
from testkit.quay_fixtures import QuayRun

LIST_TYPES = ("application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json")


def _report(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "report.json").read_text()))


def _cert_dir(run: QuayRun, tmp: Path) -> Path:
    d = tmp / "certs.d"
    d.mkdir(exist_ok=True)
    shutil.copyfile(run.out / "ca-bundle.pem", d / "ca.crt")
    return d


def _authfile(tmp: Path, name: str, auths: dict[str, Any]) -> Path:
    p = tmp / name
    p.write_text(json.dumps({"auths": auths}))
    p.chmod(0o600)
    return p


def _skopeo_raw(ref: str, authfile: Path, certs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["skopeo", "inspect", "--raw", "--authfile", str(authfile), "--cert-dir", str(certs),
                           f"docker://{ref}"], capture_output=True, text=True, check=False)


@pytest.fixture()
def pull_store(tmp_path: Path) -> Iterator[list[str]]:
    """podman options for a throw-away image store: pulls never touch the shared storage.
    (podman refuses a runroot path longer than 50 characters, hence its own short temporary dir.)"""
    root, runroot = tmp_path / "store", Path(tempfile.mkdtemp(prefix="bq-run-", dir="/tmp"))
    yield ["--root", str(root), "--runroot", str(runroot)]
    subprocess.run(["podman", "--root", str(root), "--runroot", str(runroot), "rmi", "-a", "-f"],
                   capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(runroot, ignore_errors=True)


def test_first_import_bootstraps_real_quay(real_quay: QuayRun) -> None:
    out, data = real_quay.out, real_quay.data_dir
    assert "created the first Quay user quayadmin" in real_quay.import_output
    report = _report(out)
    assert report["registry"] == real_quay.host and not report["failed"]
    assert report["blobs"]["pushed"] > 0 and report["manifests"]["pushed"] > 0
    # the pull secret: one robot per organization (host/org keys) and the read-only robot under the host
    auths = json.loads((out / "pull-secret.json").read_text())["auths"]
    orgs = sorted({img["mirror"].split("/")[1] for img in report["images"]})
    assert set(auths) == {real_quay.host} | {f"{real_quay.host}/{org}" for org in orgs}
    users = {k: base64.b64decode(v["auth"]).decode().split(":", 1)[0] for k, v in auths.items()}
    assert users[real_quay.host] == "quayadmin+reader"
    assert all(users[f"{real_quay.host}/{org}"] == f"{org}+mirror" for org in orgs)
    assert (out / "ca-bundle.pem").read_bytes() == (data / "ca-bundle.pem").read_bytes()
    # files holding secrets are 0600
    for p in (out / "pull-secret.json", data / "quay-credentials", data / "secrets" / "secrets.json",
              data / "secrets" / "redis.env", data / "quay" / "config" / "config.yaml",
              data / "quay" / "config" / "ssl.key", data / "tls" / "ca.key", data / "tls" / "server.key"):
        assert p.stat().st_mode & 0o777 == 0o600, p
    # Redis keeps its data where the rhel8/redis-6 layout puts it, in the data dir (not an anonymous volume)
    mounts = json.loads(subprocess.run(["podman", "inspect", f"{real_quay.name}-redis"], capture_output=True,
                                       text=True, check=True).stdout)[0]["Mounts"]
    assert {(m["Source"], m["Destination"]) for m in mounts if m["Type"] == "bind"} == {
        (str(data / "redis"), "/var/lib/redis/data")}
    assert not [m for m in mounts if m["Type"] == "volume"], "no anonymous volume for redis data"


def test_no_secret_in_output_process_list_or_logs(real_quay: QuayRun) -> None:
    """The import's output, every command line on the host while it ran, and Quay's log after it.
    (Quay itself logs an OAuth token it finds expired or unknown, auth/oauth.py; bundler never shows it
    one its record calls stale, and drops one Quay refused, so a live token never gets there.)"""
    values = real_quay.secret_values()
    assert len(values) > 10
    seen = {"bundler output": real_quay.import_output, "process list": "\n".join(real_quay.ps_lines),
            "quay log": real_quay.quay_log}
    assert "gunicorn" in real_quay.quay_log
    assert any("podman" in line for line in real_quay.ps_lines), "the sampler saw the import's podman calls"
    for where, text in seen.items():
        for value in values:
            assert value not in text, f"a secret appears in the {where}"


def test_every_image_pulls_by_digest_through_the_outputs(real_quay: QuayRun, tmp_path: Path,
                                                          pull_store: list[str]) -> None:
    """As a cluster node would: source references by digest, mirrors from registries.conf, credentials
    from the pull secret, trust from ca-bundle.pem; the catalog through its CatalogSource."""
    out = real_quay.out
    certs = _cert_dir(real_quay, tmp_path)
    refs = []
    for img in _report(out)["images"]:
        if img["kind"] != "catalog":
            refs.append((str(parse(img["source"]).with_tag(None).with_digest(img["digest"])), img["digest"]))
    catalog_source = yaml.safe_load((out / "catalogSource-fbc-index.yaml").read_text())
    refs.append((catalog_source["spec"]["image"], catalog_source["spec"]["image"].split("@")[1]))
    env = {**real_quay.env, "CONTAINERS_REGISTRIES_CONF": str(out / "registries.conf")}
    kinds = set()
    for ref, digest in refs:
        res = subprocess.run(["podman", *pull_store, "pull", "-q", "--authfile", str(out / "pull-secret.json"),
                              "--cert-dir", str(certs), ref], env=env, capture_output=True, text=True, check=False)
        assert res.returncode == 0, f"{ref}: {res.stderr}"
        mirror = _skopeo_raw(f"{real_quay.host}/{ref.split('/', 1)[1]}", out / "pull-secret.json", certs)
        assert mirror.returncode == 0, mirror.stderr
        assert "sha256:" + hashlib.sha256(mirror.stdout.encode()).hexdigest() == digest
        kinds.add(json.loads(mirror.stdout).get("mediaType"))
    assert set(LIST_TYPES) <= kinds, "a Docker manifest list and an OCI index are among the pulled images"
    assert len(refs) == len(_report(out)["images"])


def test_pull_secret_resolves_per_organization_and_per_host(real_quay: QuayRun, tmp_path: Path) -> None:
    """containers/image (podman, skopeo, CRI-O) picks the longest matching ``auths`` key: the org robot for
    its organization; a tool that looks up by host only finds the read-only robot, which pulls every
    repository and pushes none."""
    out, host = real_quay.out, real_quay.host
    certs = _cert_dir(real_quay, tmp_path)
    auths = json.loads((out / "pull-secret.json").read_text())["auths"]
    host_only = _authfile(tmp_path, "host-only.json", {host: auths[host]})
    orgs_only = _authfile(tmp_path, "orgs-only.json", {k: v for k, v in auths.items() if k != host})
    images = _report(out)["images"]
    for img in images:
        for authfile in (out / "pull-secret.json", host_only, orgs_only):
            res = _skopeo_raw(img["mirrorByDigest"], authfile, certs)
            assert res.returncode == 0, f"{img['mirrorByDigest']} with {authfile.name}: {res.stderr}"
    # the per-org keys are really scoped: one organization's robot cannot read another's repositories
    ops_only = _authfile(tmp_path, "ops-only.json", {f"{host}/ops": auths[f"{host}/ops"]})
    other = next(i["mirrorByDigest"] for i in images if i["mirror"].split("/")[1] == "library")
    assert _skopeo_raw(other, ops_only, certs).returncode != 0
    # the host-level robot is read-only
    src = next(i["mirrorByDigest"] for i in images if i["mirror"].split("/")[1] == "ubi8")
    res = subprocess.run(["skopeo", "copy", "--authfile", str(host_only), "--src-cert-dir", str(certs),
                          "--dest-cert-dir", str(certs), f"docker://{src}", f"docker://{host}/ubi8/ubi:pushed-by-reader"],
                         capture_output=True, text=True, check=False)
    assert res.returncode != 0 and "unauthorized" in res.stderr.lower(), res.stderr


def test_reimport_pushes_nothing_and_reuses_everything(real_quay: QuayRun, tmp_path: Path) -> None:
    out2 = tmp_path / "install-again"
    res = real_quay.bundler("import", str(real_quay.bundle), "-o", str(out2), "--hostname", "127.0.0.1", "--port",
                            real_quay.host.split(":")[1], "--data-dir", str(real_quay.data_dir))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "created" not in res.stdout + res.stderr
    report = _report(out2)
    assert report["blobs"]["pushed"] == 0 and report["blobs"]["mounted"] == 0
    assert report["manifests"]["pushed"] == 0 and not report["failed"]
    first = json.loads((real_quay.out / "pull-secret.json").read_text())
    assert json.loads((out2 / "pull-secret.json").read_text()) == first, "same robots, same tokens"
    assert (out2 / "ca-bundle.pem").read_bytes() == (real_quay.out / "ca-bundle.pem").read_bytes()


def test_other_data_dir_cannot_take_over_the_registry(real_quay: QuayRun, tmp_path: Path) -> None:
    """The cause of the state loss seen in issue 12: `up` (or an import) on another data dir with the same
    pod name removed the running pod and started a fresh Quay (empty database, new CA) at the same address.
    Now it is refused, and `down` on the wrong data dir stops nothing."""
    pod = f"{real_quay.name}-pod"
    pod_id = subprocess.run(["podman", "pod", "inspect", pod, "--format", "{{.Id}}"], capture_output=True,
                            text=True, check=True).stdout
    other = tmp_path / "other-data"
    res = real_quay.bundler("quay", "up", "--data-dir", str(other), "--name", real_quay.name, "--hostname",
                            "127.0.0.1", "--port", real_quay.host.split(":")[1])
    assert res.returncode == 1 and f"serves the registry whose data is in {real_quay.data_dir}" in res.stderr
    assert not (other / "tls").exists(), "no CA was made for the refused stack"
    res = real_quay.bundler("quay", "down", "--data-dir", str(other))
    assert res.returncode == 1 and str(real_quay.data_dir) in res.stderr
    assert subprocess.run(["podman", "pod", "inspect", pod, "--format", "{{.Id}}"], capture_output=True,
                          text=True, check=True).stdout == pod_id
    res = real_quay.bundler("quay", "status", "--data-dir", str(real_quay.data_dir))
    assert res.returncode == 0 and "ready:      yes" in res.stdout, res.stdout + res.stderr


def test_down_then_up_keeps_ca_database_users_and_robots(real_quay: QuayRun, tmp_path: Path) -> None:
    data = real_quay.data_dir
    ca_before = (data / "tls" / "ca.pem").read_bytes(), (data / "tls" / "ca.key").read_bytes()
    creds_before = real_quay.credentials()
    res = real_quay.bundler("quay", "down", "--data-dir", str(data))
    assert res.returncode == 0 and "stopped" in res.stdout, res.stdout + res.stderr
    assert list((data / "redis").iterdir()), "redis saved its data into the data dir on shutdown"
    res = real_quay.bundler("quay", "up", "--data-dir", str(data))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "created the first Quay user" not in res.stderr
    assert ((data / "tls" / "ca.pem").read_bytes(), (data / "tls" / "ca.key").read_bytes()) == ca_before
    after = real_quay.credentials()
    for key in ("admin_user", "admin_password", "robots", "reader"):
        assert after[key] == creds_before[key], key
    # the robots in the pull secret written before the restart still pull, trusting the same CA
    certs = _cert_dir(real_quay, tmp_path)
    for img in _report(real_quay.out)["images"]:
        res2 = _skopeo_raw(img["mirrorByDigest"], real_quay.out / "pull-secret.json", certs)
        assert res2.returncode == 0, res2.stderr
    status = real_quay.bundler("quay", "status", "--data-dir", str(data))
    assert status.returncode == 0 and "ready:      yes" in status.stdout, status.stdout + status.stderr
