"""Mirror-to-mirror (``bundler mirror``) with ``--max-nested-paths`` and ``--pull-secret`` against real
registries, and oc-mirror's connection flags (TLS verification off, retries, log level)."""

from __future__ import annotations

import base64
import json
import stat
import time
from pathlib import Path

import yaml

from testkit.cli import invoke
from testkit.realistic_fixtures import RealWorld
from testkit.registry import RegistryServer, free_port

IMPORT_OUTPUTS = {"imageContentSources.yaml", "imageDigestSources.yaml", "imageContentSourcePolicy.yaml",
                  "imageDigestMirrorSet.yaml", "mapping.txt", "registries.conf", "report.json"}


def test_mirror_to_mirror_flattened_with_pull_secret(realistic: RealWorld, tmp_path: Path,
                                                     basic_registry: tuple[RegistryServer, str]) -> None:
    mirror, prefix = basic_registry
    cfg = realistic.config("operators-filtered.yaml", tmp_path / "cfg")
    cluster = tmp_path / "console-pull-secret.json"
    cluster.write_text(json.dumps({"auths": {"cloud.openshift.com": {"auth": "Y2xvdWQ6c2VjcmV0", "email": "a@b.c"}}}))
    outdir = tmp_path / "out"
    args = ("mirror", "-c", cfg, "--registry", f"{mirror.host}/{prefix}/deep", "-o", outdir, "--authfile",
            realistic.authfile, "--ca-file", realistic.ca_file, "--max-nested-paths", "2", "--pull-secret", cluster)
    code, out = invoke(*args)
    assert code == 0, out
    assert mirror.password not in out and "Y2xvdWQ6c2VjcmV0" not in out
    written = {p.name for p in outdir.iterdir()}
    assert IMPORT_OUTPUTS | {"pull-secret.json", "catalogSource-redhat-operator-index.yaml"} <= written
    report = json.loads((outdir / "report.json").read_text())
    paths = {i["mirrorByDigest"].split("@")[0].partition("/")[2] for i in report["images"]}
    assert paths and all(p.count("/") == 1 for p in paths)  # at most 2 components, the prefix counted
    # targetCatalog lab/redhat-operator-index under <prefix>/deep, flattened
    assert f"{prefix}/deep-lab-redhat-operator-index" in paths
    assert mirror.client().get_manifest(f"{prefix}/deep-lab-redhat-operator-index", "v4.16-lab")
    # the mirror rules are repository-scoped: each source repository names its flattened mirror
    idms = yaml.safe_load((outdir / "imageDigestMirrorSet.yaml").read_text())["spec"]["imageDigestMirrors"]
    ops = next(r for r in idms if r["source"] == f"{realistic.upstream.host}/rh/rhacs-operator-rhel9-operator")
    assert ops["mirrors"] == [f"{mirror.host}/{prefix}/deep-rh-rhacs-operator-rhel9-operator"]
    secret = outdir / "pull-secret.json"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    auths = json.loads(secret.read_text())["auths"]
    assert set(auths) == {"cloud.openshift.com", mirror.host}
    assert base64.b64decode(auths[mirror.host]["auth"]).decode() == f"{mirror.username}:{mirror.password}"
    # again: nothing to copy
    code, out = invoke(*args)
    assert code == 0 and "Copied 0 blobs" in out, out


def test_mirror_dry_run_shows_where_each_image_goes(realistic: RealWorld, tmp_path: Path,
                                                    basic_registry: tuple[RegistryServer, str]) -> None:
    mirror, prefix = basic_registry
    cfg = realistic.config("release-pinned.yaml", tmp_path / "cfg")
    code, out = invoke("mirror", "-c", cfg, "--registry", f"{mirror.host}/{prefix}", "-o", tmp_path / "out",
                       "--authfile", realistic.authfile, "--ca-file", realistic.ca_file, "--dry-run")
    assert code == 0, out
    assert f"-> {mirror.host}/{prefix}/tools/support-tools:9.4" in out
    assert not (tmp_path / "out").exists()
    assert mirror.client().head_manifest(f"{prefix}/tools/support-tools", "9.4") is None


def test_tls_verification_off_is_loud_and_works(realistic: RealWorld, tmp_path: Path) -> None:
    cfg = tmp_path / "isc.yaml"
    cfg.write_text("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n"
                   f"  additionalImages: [{{name: {realistic.upstream.host}/ubi9/ubi:latest}}]\n")
    base = ("export", "-c", cfg, "-o", tmp_path / "b.tar.zst", "--dry-run", "--authfile", realistic.authfile)
    code, out = invoke(*base)
    assert code == 1 and "certificate signed by an unknown CA" in out, out
    code, out = invoke(*base, "--src-tls-verify=false")
    assert code == 0, out
    assert "WARNING: --src-tls-verify=false: the TLS certificates of the source registries are NOT checked" in out
    code, out = invoke(*base, "--src-tls-verify", "maybe")
    assert code == 1 and "--src-tls-verify 'maybe' must be true or false" in out


def test_retry_times_and_delay(tmp_path: Path) -> None:
    """Against a port nothing listens on: the retries and their spacing are what the flags say."""
    cfg = tmp_path / "isc.yaml"
    cfg.write_text(f"kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n"
                   f"  additionalImages: [{{name: 127.0.0.1:{free_port()}/a/b:v1}}]\n")
    base = ("export", "-c", cfg, "-o", tmp_path / "b.tar.zst", "--dry-run")
    start = time.monotonic()
    code, out = invoke(*base, "--retry-times", "0")
    fast = time.monotonic() - start
    assert code == 1 and "cannot reach registry" in out and fast < 1.0, out  # no retry, no wait
    start = time.monotonic()
    code, out = invoke(*base, "--retry-times", "3", "--retry-delay", "400ms")
    assert code == 1 and time.monotonic() - start >= 1.2, out  # three waits of 400 ms
    code, out = invoke(*base, "--retry-delay", "soon")
    assert code == 1 and "--retry-delay 'soon' is not a duration" in out


def test_log_level_and_parallel_flags(tmp_path: Path) -> None:
    code, out = invoke("export", "-c", tmp_path / "x.yaml", "-o", tmp_path / "b", "--log-level", "loud")
    assert code == 1 and "--log-level 'loud' is not one of error, info, debug, trace" in out
    from bundler.cli_habits import workers_for
    assert workers_for(8, None, None) == 8 and workers_for(8, 4, 5) == 20 and workers_for(8, 10, 10) == 64
    code, out = invoke("export", "--help")
    assert "--parallel-images" in out and "--workers" in out and "one pool moves every blob" in out
