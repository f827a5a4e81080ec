"""The graph-data image layer and the UpdateService, checked against oc-mirror's own expected output."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
import yaml

from bundler.content.release.graph import GraphClient
from bundler.content.release.graph_image import (
    BUILD_DIR,
    GRAPH_CMD,
    graph_layer,
    update_service,
    update_service_yaml,
)
from bundler.errors import BundlerError
from bundler.oci import Manifest, mediatypes, sha256_digest
from bundler.oci.image import append_layers
from testkit.graph_server import UpdateServer, sample_universe, tarball

DATA = Path(__file__).parent / "data"


def entries(tar: bytes) -> list[tuple[object, ...]]:
    t = tarfile.open(fileobj=io.BytesIO(tar))
    return [(m.name.rstrip("/"), m.type, m.mode & 0o7777, m.uid, m.gid, m.mtime, m.size, m.uname, m.gname,
             hashlib.sha256(t.extractfile(m).read()).hexdigest() if m.isreg() else "")  # type: ignore[union-attr]
            for m in t.getmembers()]


def test_layer_matches_what_oc_mirror_builds_from_the_same_tarball() -> None:
    """oc-mirror's unit test data: graph-data.tar.gz and the layer its LayerFromGzipByteArray made of it.
    Every entry has the same name, type, permissions, owner, time and content (Go keeps the type bits of
    ``mode`` in the header, Python's tarfile writes permissions only; readers use the type flag)."""
    layer = graph_layer((DATA / "ocmirror-graph-data.tar.gz").read_bytes())
    expected = gzip.decompress((DATA / "ocmirror-graph-layer.tar.gz").read_bytes())
    assert entries(layer.tar) == entries(expected)
    assert len(layer.files) == 635 and f"{BUILD_DIR}/channels/stable-4.14.yaml" in layer.files
    assert layer.diff_id == "sha256:" + hashlib.sha256(layer.tar).hexdigest()


def test_layer_is_deterministic() -> None:
    data = (DATA / "ocmirror-graph-data.tar.gz").read_bytes()
    a, b = graph_layer(data), graph_layer(data)
    assert a.tar == b.tar and a.layer.gz == b.layer.gz  # gzip from the one layer builder: no name, no time
    blob, digest = a.layer.gz, a.layer.digest
    assert gzip.decompress(blob) == a.tar and digest == "sha256:" + hashlib.sha256(blob).hexdigest()


def test_layer_from_the_update_service_graph_data() -> None:
    with UpdateServer(sample_universe()) as srv:
        data = GraphClient(srv.url, ca_file=str(srv.ca_file)).graph_data()
    layer = graph_layer(data)
    doc = yaml.safe_load(layer.files[f"{BUILD_DIR}/channels/stable-4.14.yaml"])
    assert doc["name"] == "stable-4.14" and "4.14.3" in doc["versions"]
    assert {m.uid for m in tarfile.open(fileobj=io.BytesIO(layer.tar)).getmembers()} == {0}


@pytest.mark.parametrize("files,error", [
    ({"../../etc/cron.d/x": b"boom"}, "points outside the graph data directory"),
    ({"channels/../../../x": b"boom"}, "points outside the graph data directory"),
])
def test_escaping_entries_are_refused(files: dict[str, bytes], error: str) -> None:
    with pytest.raises(BundlerError, match=error):
        graph_layer(tarball(files))


def test_devices_and_non_tarballs_are_refused() -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        info = tarfile.TarInfo("null")
        info.type = tarfile.CHRTYPE
        t.addfile(info)
    with pytest.raises(BundlerError, match="'null' is a device or fifo"):
        graph_layer(gzip.compress(raw.getvalue()))
    with pytest.raises(BundlerError, match="graph data is not a tar.gz archive"):
        graph_layer(b"<html>no</html>")


def test_image_config_appends_the_layer_and_sets_the_command() -> None:
    """The graph image is the base with the layer appended by the one image builder, oc-mirror's Cmd set."""
    base = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/bash"], "Env": ["A=1"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}, "history": [{"created_by": "ubi"}]}
    doc = b'{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"sha256:%s","size":1},"layers":[]}' % (
        mediatypes.OCI_MANIFEST.encode(), mediatypes.OCI_CONFIG.encode(), b"2" * 64)
    layer = graph_layer(tarball({"version": b"1.2.0\n"}))
    built = append_layers(Manifest(doc, mediatypes.OCI_MANIFEST, sha256_digest(doc)), base, [layer.layer],
                          comment="graph data", cmd=list(GRAPH_CMD))
    cfg = [yaml.safe_load(b) for d, b in built.blobs.items() if d != layer.layer.digest][0]
    assert cfg["config"] == {"Cmd": GRAPH_CMD, "Env": ["A=1"]}
    assert GRAPH_CMD == ["/bin/bash", "-c",
                         "exec cp -rp /var/lib/cincinnati-graph-data/* /var/lib/cincinnati/graph-data"]
    assert cfg["rootfs"]["diff_ids"] == ["sha256:" + "1" * 64, layer.diff_id]
    assert built.manifest.doc["layers"][-1]["mediaType"] == mediatypes.OCI_LAYER  # oc-mirror matches the base's type
    assert len(cfg["history"]) == 2


def test_update_service_resource() -> None:
    doc = update_service("mirror.example.com:8443/ocp/openshift/release-images",
                         "mirror.example.com:8443/ocp/openshift/graph-image@sha256:" + "a" * 64,
                         created_at="2026-01-02T03:04:05Z")
    text = update_service_yaml(doc).decode()
    assert yaml.safe_load(text) == {
        "apiVersion": "updateservice.operator.openshift.io/v1", "kind": "UpdateService",
        "metadata": {"name": "update-service-oc-mirror", "namespace": "openshift-update-service",
                     "annotations": {"createdAt": "2026-01-02T03:04:05Z", "createdBy": "bundler"}},
        "spec": {"replicas": 2, "releases": "mirror.example.com:8443/ocp/openshift/release-images",
                 "graphDataImage": "mirror.example.com:8443/ocp/openshift/graph-image@sha256:" + "a" * 64}}
    assert text.index("apiVersion") < text.index("kind") < text.index("metadata") < text.index("spec")
