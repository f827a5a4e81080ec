"""Charts as OCI artifacts, laid out as ``helm push`` does, pushed into a real registry (Docker
Distribution, TLS + Basic) and read back through the registry API with plain requests."""

from __future__ import annotations

import json

import pytest

from bundler.content.helm import (
    CHART_LAYER_MEDIA_TYPE,
    CONFIG_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    ChartError,
    HelmError,
    build_oci_chart,
    load_archive,
    oci_location,
    parse_oci_chart,
)
from bundler.content.helm.oci_chart import LEGACY_CHART_LAYER_MEDIA_TYPE, PROV_LAYER_MEDIA_TYPE, digest_of, go_json
from bundler.http import TrustedSession
from bundler.registry.client import Manifest
from testkit.charts import legacy, tgz, webapp
from testkit.charts_platform import platform
from testkit.registry import RegistryServer


def test_layout_matches_helm_push() -> None:
    archive = webapp().archive()
    oci = build_oci_chart(archive)
    doc = json.loads(oci.manifest)
    assert list(doc) == ["schemaVersion", "config", "layers", "annotations"]     # no mediaType field
    assert doc["config"] == {"mediaType": CONFIG_MEDIA_TYPE, "digest": oci.config_digest,
                             "size": len(oci.blobs[oci.config_digest])}
    assert doc["layers"] == [{"mediaType": CHART_LAYER_MEDIA_TYPE, "digest": digest_of(archive), "size": len(archive)}]
    assert oci.blobs[oci.layer_digest] == archive                                  # the archive, byte for byte
    assert oci.blobs[oci.config_digest] == (
        b'{"name":"webapp","version":"1.4.2","description":"A web application with a migration job and nightly '
        b'reports","maintainers":[{"name":"Web Team","email":"web@example.com"}],"apiVersion":"v2",'
        b'"appVersion":"2.3.1","type":"application"}')
    assert doc["annotations"] == {
        "org.opencontainers.image.authors": "Web Team (web@example.com)",
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",               # Chart.yaml's mtime
        "org.opencontainers.image.description": "A web application with a migration job and nightly reports",
        "org.opencontainers.image.title": "webapp",
        "org.opencontainers.image.version": "1.4.2",
    }
    assert oci.manifest == go_json(doc) and oci.manifest_digest == digest_of(oci.manifest)
    assert (oci.name, oci.version, oci.tag) == ("webapp", "1.4.2", "1.4.2")


def test_same_archive_same_digest_and_created_override() -> None:
    archive = platform().archive()
    assert build_oci_chart(archive).manifest_digest == build_oci_chart(archive).manifest_digest
    stamped = build_oci_chart(archive, created="2024-01-02T03:04:05Z")
    assert json.loads(stamped.manifest)["annotations"]["org.opencontainers.image.created"] == "2024-01-02T03:04:05Z"


def test_chart_annotations_are_copied_but_not_title_or_version() -> None:
    files = {"Chart.yaml": "apiVersion: v2\nname: ann\nversion: 1.0.0+build.7\nhome: https://example.com\n"
                           "sources: [https://git.example.com/ann, https://other]\nannotations:\n"
                           "  org.opencontainers.image.title: hijack\n  example.com/team: blue & green\n"
                           "  artifacthub.io/prerelease: true\n"}
    oci = build_oci_chart(tgz("ann", files))
    ann = json.loads(oci.manifest)["annotations"]
    assert ann["org.opencontainers.image.title"] == "ann"
    assert ann["example.com/team"] == "blue & green" and b"blue \\u0026 green" in oci.manifest   # Go escaping
    assert ann["artifacthub.io/prerelease"] == "true"
    assert ann["org.opencontainers.image.url"] == "https://example.com"
    assert ann["org.opencontainers.image.source"] == "https://git.example.com/ann"
    assert oci.tag == "1.0.0_build.7"


def test_v1_dependencies_land_in_the_config() -> None:
    config = json.loads(build_oci_chart(legacy().archive()).blobs[build_oci_chart(legacy().archive()).config_digest])
    assert config["apiVersion"] == "v1"
    assert config["dependencies"] == [{"name": "worker", "version": "1.0.0", "repository": "file://../worker",
                                       "condition": "worker.enabled"}]


def test_provenance_layer_sorted_by_digest() -> None:
    oci = build_oci_chart(webapp().archive(), provenance=b"-----BEGIN PGP SIGNED MESSAGE-----\n")
    layers = json.loads(oci.manifest)["layers"]
    assert [d["digest"] for d in layers] == sorted(d["digest"] for d in layers)
    assert {d["mediaType"] for d in layers} == {CHART_LAYER_MEDIA_TYPE, PROV_LAYER_MEDIA_TYPE}


@pytest.mark.parametrize("base, want", [
    ("oci://mirror.example.com:8443/helm", ("mirror.example.com:8443", "helm/webapp", "1.4.2")),
    ("oci://mirror.example.com", ("mirror.example.com", "webapp", "1.4.2")),
    ("mirror.example.com/a/b/", ("mirror.example.com", "a/b/webapp", "1.4.2")),
])
def test_oci_location(base: str, want: tuple[str, str, str]) -> None:
    assert oci_location(base, "webapp", "1.4.2") == want


def test_oci_location_rejects_other_schemes() -> None:
    with pytest.raises(HelmError, match="not an oci://"):
        oci_location("https://charts.example.com", "x", "1.0.0")


def test_not_a_chart_archive_is_refused() -> None:
    with pytest.raises(ChartError, match="is not a chart: Chart.yaml is missing"):
        build_oci_chart(tgz("x", {"values.yaml": "a: 1\n"}))


def _manifest(config: bytes, layers: list[tuple[str, bytes]], config_type: str = CONFIG_MEDIA_TYPE) -> bytes:
    return json.dumps({"schemaVersion": 2, "config": {"mediaType": config_type, "digest": digest_of(config),
                                                      "size": len(config)},
                       "layers": [{"mediaType": t, "digest": digest_of(d), "size": len(d)} for t, d in layers]}).encode()


def test_parse_accepts_the_legacy_layer_type() -> None:
    archive = webapp().archive()
    config = b'{"name":"webapp","version":"1.4.2"}'
    blobs = {digest_of(archive): archive, digest_of(config): config}
    pulled = parse_oci_chart(_manifest(config, [(LEGACY_CHART_LAYER_MEDIA_TYPE, archive)]), blobs.__getitem__)
    assert pulled.chart.label == "webapp 1.4.2" and pulled.provenance is None


@pytest.mark.parametrize("case, message", [
    ("image", "is not a Helm chart"),
    ("two-layers", "expected exactly one chart layer, found 2"),
    ("tampered", "does not match its descriptor"),
    ("other-chart", "config names chart other 9.9.9 but the archive holds webapp 1.4.2"),
])
def test_parse_refuses(case: str, message: str) -> None:
    archive = webapp().archive()
    config = b'{"name":"webapp","version":"1.4.2"}' if case != "other-chart" else b'{"name":"other","version":"9.9.9"}'
    blobs = {digest_of(archive): archive, digest_of(config): config}
    layers = [(CHART_LAYER_MEDIA_TYPE, archive)] * (2 if case == "two-layers" else 1)
    manifest = _manifest(config, layers, "application/vnd.oci.image.config.v1+json" if case == "image"
                         else CONFIG_MEDIA_TYPE)
    get = (lambda d: blobs[d] + b"x") if case == "tampered" else blobs.__getitem__
    with pytest.raises(ChartError, match=message):
        parse_oci_chart(manifest, get)


def test_push_into_a_registry_and_read_back(basic_registry: tuple[RegistryServer, str]) -> None:
    """helm install oci://HOST/PREFIX/webapp --version 1.4.2 would resolve this: check it through the
    registry API (media types, tag, the archive unpacks to the same chart)."""
    server, prefix = basic_registry
    archive = webapp().archive()
    oci = build_oci_chart(archive)
    host, repo, tag = oci_location(f"oci://{server.host}/{prefix}/charts", oci.name, oci.version)
    client = server.client()
    for digest, data in oci.blobs.items():
        client.push_blob(repo, digest, len(data), lambda data=data: data)
    client.put_manifest(repo, tag, Manifest(oci.manifest, MANIFEST_MEDIA_TYPE, oci.manifest_digest))

    http = TrustedSession(str(server.ca_file))          # plain requests; trust passed on every request
    http.auth = (server.username, server.password)
    base = f"https://{host}/v2/{repo}"
    resp = http.get(f"{base}/manifests/{tag}", headers={"Accept": MANIFEST_MEDIA_TYPE})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == MANIFEST_MEDIA_TYPE
    assert resp.headers["Docker-Content-Digest"] == oci.manifest_digest and resp.content == oci.manifest
    assert http.get(f"{base}/tags/list").json()["tags"] == ["1.4.2"]
    pulled = parse_oci_chart(resp.content, lambda d: http.get(f"{base}/blobs/{d}").content, f"oci://{host}/{repo}")
    assert pulled.archive == archive
    assert pulled.config["name"] == "webapp" and pulled.config["version"] == "1.4.2"
    original = load_archive(archive, "original")
    assert [t.data for t in pulled.chart.templates] == [t.data for t in original.templates]
    assert pulled.chart.values == original.values
