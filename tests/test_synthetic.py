"""The synthetic upstream is protocol-real: what a real client (bundler's and skopeo) sees in the registry."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundler import config as bconfig
from bundler.oci import mediatypes, parse
from bundler.registry.client import RegistryClient
from testkit.registry import RegistryServer
from testkit.synthetic import (
    COMPONENT_REPO,
    INDEX_COMPONENT,
    LIST_COMPONENT,
    RELEASE_REPO,
    Upstream,
    build_upstream,
    make_layer,
    push_image,
    push_index,
)


def _layer_files(client: RegistryClient, repo: str, digest: str) -> dict[str, bytes]:
    raw = gzip.decompress(client.get_blob(repo, digest))
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _release_files(client: RegistryClient, digest: str) -> dict[str, bytes]:
    doc = client.get_manifest(RELEASE_REPO, digest).doc
    files: dict[str, bytes] = {}
    for layer in doc["layers"]:
        files.update(_layer_files(client, RELEASE_REPO, layer["digest"]))
    return files


def test_make_layer_is_deterministic_and_diff_id_is_tar_sha() -> None:
    files = {"usr/bin/tool": b"#!/bin/sh\n", "etc/a.conf": b"x" * 1000}
    gz1, diff1 = make_layer(files)
    gz2, diff2 = make_layer(dict(reversed(list(files.items()))))
    assert gz1 == gz2 and diff1 == diff2
    raw = gzip.decompress(gz1)
    assert diff1 == "sha256:" + hashlib.sha256(raw).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["usr/bin/tool"].mode == 0o755 and members["etc/a.conf"].mode == 0o644
    assert members["usr"].isdir() and members["usr/bin"].isdir()
    assert {m.mtime for m in members.values()} == {1577836800}


def test_release_image_references_resolve(upstream_client: RegistryClient, upstream: Upstream) -> None:
    assert upstream_client.get_manifest(RELEASE_REPO, "4.4.5-x86_64").digest == upstream.release_digest
    files = _release_files(upstream_client, upstream.release_digest)
    stream = json.loads(files["release-manifests/image-references"])
    assert stream["kind"] == "ImageStream" and stream["apiVersion"] == "image.openshift.io/v1"
    assert stream["metadata"]["name"] == "4.4.5"
    assert stream == upstream.image_references
    tags = {t["name"]: t["from"] for t in stream["spec"]["tags"]}
    assert set(tags) == set(upstream.components)
    assert len(tags) == 14 and {"cli", "installer", "cluster-samples-operator", LIST_COMPONENT, INDEX_COMPONENT} <= set(tags)
    for name, src in tags.items():
        assert src["kind"] == "DockerImage"
        ref = parse(src["name"])
        assert ref.registry == upstream.host and ref.repository == COMPONENT_REPO
        assert ref.digest and ref.tag is None, f"{name} must be referenced by digest only"
        assert upstream_client.get_manifest(ref.repository, ref.digest).digest == ref.digest
    meta = json.loads(files["release-manifests/release-metadata"])
    assert meta["kind"] == "cincinnati-metadata-v0" and meta["version"] == "4.4.5"
    assert isinstance(meta["previous"], list) and isinstance(meta["metadata"], dict)


def test_release_config_is_real(upstream_client: RegistryClient, upstream: Upstream) -> None:
    m = upstream_client.get_manifest(RELEASE_REPO, upstream.release_digest)
    assert m.media_type == mediatypes.DOCKER_MANIFEST
    config = json.loads(upstream_client.get_blob(RELEASE_REPO, m.doc["config"]["digest"]))
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["config"]["Labels"]["io.openshift.release"] == "4.4.5"
    diff_ids = []
    for layer in m.doc["layers"]:
        assert layer["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
        blob = upstream_client.get_blob(RELEASE_REPO, layer["digest"])
        assert len(blob) == layer["size"]
        diff_ids.append("sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest())
    assert config["rootfs"] == {"type": "layers", "diff_ids": diff_ids}
    assert len(config["history"]) == len(diff_ids)


def test_components_share_the_base_layer(upstream_client: RegistryClient, upstream: Upstream) -> None:
    firsts = set()
    for name in ("cli", "installer", "tools"):
        doc = upstream_client.get_manifest(COMPONENT_REPO, upstream.components[name].split("@")[1]).doc
        firsts.add(doc["layers"][0]["digest"])
        assert len(doc["layers"]) == 2
    assert len(firsts) == 1
    cli = upstream_client.get_manifest(COMPONENT_REPO, upstream.components["cli"].split("@")[1]).doc
    files = _layer_files(upstream_client, COMPONENT_REPO, cli["layers"][1]["digest"])
    assert files["usr/bin/oc"].startswith(b"#!/bin/sh")


def test_manifest_list_has_three_platforms(upstream_client: RegistryClient, upstream: Upstream) -> None:
    ref = parse(upstream.manifest_list)
    assert ref.digest
    m = upstream_client.get_manifest(ref.repository, ref.digest)
    assert m.media_type == mediatypes.DOCKER_LIST and m.is_list
    kids = m.doc["manifests"]
    assert sorted(k["platform"]["architecture"] for k in kids) == ["amd64", "arm64", "ppc64le"]
    for k in kids:
        assert k["mediaType"] == mediatypes.DOCKER_MANIFEST
        child = upstream_client.get_manifest(ref.repository, k["digest"])
        assert len(child.data) == k["size"]
        config = json.loads(upstream_client.get_blob(ref.repository, child.doc["config"]["digest"]))
        assert config["architecture"] == k["platform"]["architecture"]


def test_oci_index_has_oci_manifests(upstream_client: RegistryClient, upstream: Upstream) -> None:
    ref = parse(upstream.oci_index)
    m = upstream_client.get_manifest(ref.repository, ref.ref)
    assert m.media_type == mediatypes.OCI_INDEX
    assert m.digest == upstream.additional[upstream.oci_index]
    for k in m.doc["manifests"]:
        child = upstream_client.get_manifest(ref.repository, k["digest"])
        assert child.media_type == mediatypes.OCI_MANIFEST
        assert child.doc["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
        assert all(la["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip" for la in child.doc["layers"])
    comp = parse(upstream.components[INDEX_COMPONENT])
    assert upstream_client.get_manifest(comp.repository, comp.ref).media_type == mediatypes.OCI_INDEX


def test_additional_images_by_tag(upstream_client: RegistryClient, upstream: Upstream) -> None:
    assert len(upstream.additional_images) == 3
    for text, digest in upstream.additional.items():
        ref = parse(text)
        assert ref.tag and ref.registry == upstream.host
        assert upstream_client.get_manifest(ref.repository, ref.tag).digest == digest


def test_multi_release_is_a_list_of_releases(upstream_client: RegistryClient, upstream: Upstream) -> None:
    assert upstream.multi_release and upstream.multi_release_digest
    m = upstream_client.get_manifest(RELEASE_REPO, "4.4.5-multi")
    assert m.digest == upstream.multi_release_digest and m.media_type == mediatypes.DOCKER_LIST
    kids = m.doc["manifests"]
    assert [k["platform"]["architecture"] for k in kids] == ["amd64", "arm64"]
    for k in kids:
        files = _release_files(upstream_client, k["digest"])
        stream = json.loads(files["release-manifests/image-references"])
        for tag in stream["spec"]["tags"]:
            ref = parse(tag["from"]["name"])
            assert ref.digest
            assert upstream_client.get_manifest(ref.repository, ref.digest).is_list, tag["name"]


def test_stats(upstream: Upstream) -> None:
    assert upstream.unique_blobs == len(upstream.blobs) > 20
    assert upstream.total_bytes > 14 * 32 * 1024
    assert upstream.release_by_digest.endswith("@" + upstream.release_digest)


def test_same_seed_same_digests_with_host_in_refs(plain_registry: RegistryServer, upstream: Upstream) -> None:
    client = RegistryClient(plain_registry.host, plain_http=True)
    again = build_upstream(client, version="4.4.5", components=12, layer_size=32 * 1024, seed=0,
                           host_in_refs=upstream.host)
    assert again.release_digest == upstream.release_digest
    assert again.components == upstream.components
    assert again.additional == upstream.additional
    assert again.release.startswith(upstream.host + "/")
    other = build_upstream(client, version="4.4.5", components=2, layer_size=1024, seed=1)
    assert other.release.startswith(plain_registry.host + "/")
    assert other.components["cli"] != upstream.components["cli"]


def test_push_image_and_index_helpers(basic_registry: tuple[RegistryServer, str]) -> None:
    server, prefix = basic_registry
    client = server.client()
    repo = f"{prefix}/catalog"
    amd = push_image(client, repo, None, {"configs/a/catalog.json": b"{}"}, labels={"k": "v"}, oci=True)
    arm = push_image(client, repo, None, {"configs/a/catalog.json": b"{}"}, arch="arm64", oci=True)
    idx = push_index(client, repo, "v1", [(amd, {"architecture": "amd64", "os": "linux"}),
                                         (arm, {"architecture": "arm64", "os": "linux"})], oci=True)
    assert client.get_manifest(repo, "v1").data == idx.data
    assert client.list_tags(repo) == ["v1"]


def test_skopeo_reads_release(upstream_registry: tuple[RegistryServer, Upstream], upstream_client: RegistryClient) -> None:
    server, up = upstream_registry
    skopeo = shutil.which("skopeo")
    assert skopeo, "skopeo is required"
    creds = f"{server.username}:{server.password}"
    raw = subprocess.run([skopeo, "inspect", "--raw", "--cert-dir", str(server.cert_dir), "--creds", creds,
                          f"docker://{up.release}"], check=True, capture_output=True).stdout
    assert raw == upstream_client.get_manifest(RELEASE_REPO, up.release_digest).data
    out = subprocess.run([skopeo, "inspect", "--no-tags", "--cert-dir", str(server.cert_dir), "--creds", creds,
                          f"docker://{up.manifest_list}"], check=True, capture_output=True, text=True).stdout
    info: dict[str, Any] = json.loads(out)
    assert info["Architecture"] == "amd64"
    # without credentials the token server refuses
    refused = subprocess.run([skopeo, "inspect", "--raw", "--cert-dir", str(server.cert_dir), "--no-creds",
                              f"docker://{up.release}"], capture_output=True, text=True)
    assert refused.returncode != 0


def test_cli_writes_config(basic_registry: tuple[RegistryServer, str], tmp_path: Path) -> None:
    server, _ = basic_registry
    authfile = server.authfile(tmp_path / "auth.json")
    cfg = tmp_path / "imageset.yaml"
    out = subprocess.run(
        [sys.executable, "-m", "testkit.synthetic", "--registry", server.host, "--ca-file", str(server.ca_file),
         "--authfile", str(authfile), "--components", "3", "--layer-size", "2048", "--version", "4.6.1",
         "--write-config", str(cfg)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0, out.stderr
    assert f"{server.host}/openshift-release-dev/ocp-release:4.6.1-x86_64" in out.stdout
    doc = yaml.safe_load(cfg.read_text())
    assert doc["kind"] == "ImageSetConfiguration" and doc["apiVersion"] == "mirror.openshift.io/v2alpha1"
    assert doc["mirror"]["platform"]["release"] == f"{server.host}/openshift-release-dev/ocp-release:4.6.1-x86_64"
    assert f"{server.host}/ubi8/ubi:8.4" in [i["name"] for i in doc["mirror"]["additionalImages"]]
    parsed = bconfig.load(cfg)
    assert [str(r) for r in parsed.releases] == [doc["mirror"]["platform"]["release"]]
    assert len(parsed.additional_images) == 3


def test_cli_reports_unreachable_registry(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "testkit.synthetic", "--registry", "127.0.0.1:1", "--plain-http", "--retries", "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 1 and "cannot reach" in out.stderr


@pytest.mark.parametrize("components", [0, 60])
def test_component_names(components: int) -> None:
    from testkit.synthetic import component_names

    names = component_names(components)
    assert len(names) == len(set(names)) == components


def test_plain_upstream(plain_upstream: tuple[RegistryServer, Upstream]) -> None:
    server, up = plain_upstream
    client = server.client()
    assert client.base.startswith("http://")
    assert client.get_manifest(RELEASE_REPO, "4.4.5-x86_64").digest == up.release_digest
    assert len(up.components) == 6 and up.multi_release is None
