"""Helm charts end to end against real servers: images in a Docker Distribution registry (TLS + Basic), charts
in a classic chart repository on 127.0.0.1 (TLS + Basic, credentials from the auth file), an OCI chart in the
registry (written by testkit's independent writer) and local charts (a directory and a .tgz). Exported with
the CLI, imported into a second registry; the mirror is then read with plain HTTP requests (not bundler's
client): each chart is there in Helm's OCI layout and every image it deploys resolves by digest."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundler.http import TrustedSession
from testkit.certs import CA
from testkit.chart_repo import ChartRepoServer
from testkit.chart_upstream import HELM_CONFIG, HELM_LAYER, OCI_MANIFEST, ChartUpstream, build_chart_upstream
from testkit.charts import legacy, tgz
from testkit.cli import invoke as cli
from testkit.registry import RegistryServer, write_authfile

ACCEPT = {"Accept": OCI_MANIFEST}


@pytest.fixture(scope="module")
def charts_up(tls_ca: CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("charts-up")
    with RegistryServer(ca=tls_ca, auth="basic", username="images-user") as server, \
            ChartRepoServer(ca=tls_ca, username="charts-user") as repo:
        up = build_chart_upstream(server.client(), repo, d)
        auth = write_authfile(d / "auth.json", {server.host: (server.username, server.password),
                                                repo.host: (str(repo.username), repo.password)})
        yield {"server": server, "repo": repo, "up": up, "auth": auth, "dir": d, "ca": server.ca_file}


def _isc(path: Path, helm: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"kind": "ImageSetConfiguration", "apiVersion": "mirror.openshift.io/v2alpha1",
                                    "mirror": {"helm": helm}}))
    return path


def _full_isc(cu: dict[str, Any], path: Path) -> Path:
    up: ChartUpstream = cu["up"]
    return _isc(path, {
        "repositories": [
            {"name": "stable", "url": cu["repo"].url,
             "charts": [{"name": "webapp", "version": "~1.4"}, {"name": "platform", "version": "0.7.0"}]},
            {"name": "oci-charts", "url": f"oci://{up.host}/charts", "charts": [{"name": "legacy-app"}]},
        ],
        "local": [
            {"name": "legacy-dir", "path": str(up.local_dir)},
            {"name": "platform-tgz", "path": str(up.local_tgz), "imagePaths": ["{.data.operandDb}"]},
        ],
    })


@pytest.fixture(scope="module")
def carried(charts_up: dict[str, Any], tls_ca: CA, tmp_path_factory: pytest.TempPathFactory,
            basic_registry_server: RegistryServer) -> dict[str, Any]:
    """One export and one import of every chart shape (the tests below read the result)."""
    d = tmp_path_factory.mktemp("helm-e2e")
    cfg = _full_isc(charts_up, d / "imageset.yaml")
    bundle = d / "bundle" / "charts.tar.zst"
    code, out = cli("export", "-c", cfg, "-o", bundle, "--authfile", charts_up["auth"], "--ca-file", charts_up["ca"])
    assert code == 0, out
    target = basic_registry_server
    prefix = "helm-mirror"
    tauth = target.authfile(d / "target-auth.json")
    code, iout = cli("import", bundle, "--registry", f"{target.host}/{prefix}", "--authfile", tauth,
                     "--ca-file", target.ca_file, "-o", d / "install")
    assert code == 0, iout
    http = TrustedSession(str(target.ca_file))
    http.auth = (target.username, target.password)
    return {"export": out, "import": iout, "install": d / "install", "http": http,
            "base": f"https://{target.host}/v2/{prefix}", "mirror": f"{target.host}/{prefix}"}


def test_export_reports_resolution_and_unevaluated_expressions(carried: dict[str, Any]) -> None:
    out = carried["export"]
    assert "Helm: 5 chart(s) planned, 3 fully resolved; 2 with expressions" in out
    # the platform chart reads the cluster (lookup): named with its template file and line, once per copy
    assert out.count("warning: chart platform 0.7.0: platform/templates/agent.yaml:12: nil pointer evaluating "
                     "interface {}.agentTag") == 2
    assert "image(s) in its values are not deployed with the default values and not carried" in out
    assert "FAILED" not in out


def _chart_files(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive))) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile()}


def _pull(carried: dict[str, Any], chart_ref: str, tag: str) -> tuple[Any, dict[str, Any], dict[str, Any], bytes]:
    """manifest response, manifest, config and chart archive of ``oci://MIRROR/...`` through the registry API."""
    http, repo = carried["http"], chart_ref.removeprefix("oci://").split("/", 1)[1]
    resp = http.get(f"https://{carried['mirror'].split('/')[0]}/v2/{repo}/manifests/{tag}", headers=ACCEPT)
    assert resp.status_code == 200, (chart_ref, tag, resp.status_code)
    doc = json.loads(resp.content)
    base = f"https://{carried['mirror'].split('/')[0]}/v2/{repo}/blobs/"
    config = json.loads(http.get(base + doc["config"]["digest"]).content)
    archive = http.get(base + doc["layers"][0]["digest"]).content
    return resp, doc, config, archive


def test_every_chart_is_in_the_mirror_in_helms_oci_layout(carried: dict[str, Any], charts_up: dict[str, Any]) -> None:
    up: ChartUpstream = charts_up["up"]
    listing = yaml.safe_load((carried["install"] / "helm-charts.yaml").read_text())["charts"]
    assert [(c["name"], c["version"]) for c in listing] == [
        ("webapp", "1.4.2"), ("platform", "0.7.0"), ("legacy-app", "0.9.0"), ("legacy-app", "0.9.0"),
        ("platform", "0.7.0")]
    m = carried["mirror"]
    assert [c["chart"] for c in listing] == [
        f"oci://{m}/stable/webapp", f"oci://{m}/stable/platform", f"oci://{m}/charts/legacy-app",
        f"oci://{m}/legacy-app", f"oci://{m}/platform"]
    assert listing[0]["install"] == f"helm install webapp oci://{m}/stable/webapp --version 1.4.2"
    for entry in listing:
        resp, doc, config, archive = _pull(carried, entry["chart"], entry["tag"])
        assert resp.headers["Content-Type"] == OCI_MANIFEST and resp.headers["Docker-Content-Digest"] == entry["digest"]
        assert doc["config"]["mediaType"] == HELM_CONFIG
        assert [layer["mediaType"] for layer in doc["layers"]] == [HELM_LAYER]
        assert (config["name"], config["version"]) == (entry["name"], entry["version"])
        original = up.charts[entry["name"]]
        files = _chart_files(archive)
        assert files == {k: v if isinstance(v, bytes) else v.encode() for k, v in original.files.items()}, entry
    assert "install: helm install platform oci://" in (carried["install"] / "helm-charts.yaml").read_text()
    # the classic repository's archive and the OCI chart arrive byte for byte
    assert _pull(carried, listing[0]["chart"], "1.4.2")[3] == up.charts["webapp"].archive()
    oci = up.oci["legacy-app"]
    assert listing[2]["digest"] == oci.digest and _pull(carried, listing[2]["chart"], "0.9.0")[3] == oci.archive


def test_every_image_a_chart_deploys_resolves_in_the_mirror_by_digest(carried: dict[str, Any],
                                                                       charts_up: dict[str, Any]) -> None:
    up: ChartUpstream = charts_up["up"]
    http = carried["http"]
    wanted = up.expected_images("webapp", "platform", "legacy-app") | up.charts["platform"].by_hand
    for ref in sorted(wanted):
        digest = up.images[ref]
        path = ref.removeprefix(up.host + "/").split("@")[0].rsplit(":", 1)[0]
        resp = http.head(f"{carried['base']}/{path}/manifests/{digest}", headers=ACCEPT)
        assert resp.status_code == 200, ref
    listing = yaml.safe_load((carried["install"] / "helm-charts.yaml").read_text())["charts"]
    listed = {i["image"]: i["mirror"] for c in listing for i in c["images"]}
    assert set(listed) == wanted
    assert all(v.startswith(carried["mirror"] + "/") and v.endswith(up.images[k]) for k, v in listed.items())
    assert not any("imagesNotInMirror" in c for c in listing)
    idms = yaml.safe_load((carried["install"] / "imageDigestMirrorSet.yaml").read_text())
    sources = {r["source"] for r in idms["spec"]["imageDigestMirrors"]}
    assert f"{up.host}/apps/webapp" in sources and f"{up.host}/library/redis" in sources
    assert not any("local-charts.invalid" in s or s.endswith("/stable/webapp") for s in sources)  # built charts


def _dry_run(charts_up: dict[str, Any], tmp_path: Path, helm: dict[str, Any], auth: Path | None = None,
             ) -> tuple[int, str]:
    cfg = _isc(tmp_path / "isc.yaml", helm)
    return cli("export", "-c", cfg, "-o", tmp_path / "b.tar.zst", "--dry-run", "--authfile", auth or charts_up["auth"],
               "--ca-file", charts_up["ca"])


def _bad_chart(tmp_path: Path, case: str) -> str:
    if case == "not-a-chart":
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "values.yaml").write_text("a: 1\n")
        return str(tmp_path / "empty")
    if case == "corrupt":
        good = legacy().archive()
        (tmp_path / "cut.tgz").write_bytes(good[: len(good) // 2])
        return str(tmp_path / "cut.tgz")
    files = {"Chart.yaml": "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
             "templates/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
                                   "  - name: a\n    image: 'Registry.Example.com/App:1.0'\n"}
    (tmp_path / "broken-0.1.0.tgz").write_bytes(tgz("broken", files))
    return str(tmp_path / "broken-0.1.0.tgz")


@pytest.mark.parametrize("case, message", [
    ("not-a-chart", r"local chart bad \(.*/empty\): .*/empty is not a chart: Chart.yaml is missing"),
    ("corrupt", r"local chart bad \(.*/cut.tgz\): .*/cut.tgz is a corrupt chart archive"),
    ("bad-image", r"chart broken 0.1.0, broken/templates/pod.yaml: Pod/p spec.containers\[a\].image: not an image "
                  r"reference: 'Registry.Example.com/App:1.0' \(bad path component 'App'\)\n  hint: set the value"),
])
def test_bad_local_charts(charts_up: dict[str, Any], tmp_path: Path, case: str, message: str) -> None:
    code, out = _dry_run(charts_up, tmp_path, {"local": [{"name": "bad", "path": _bad_chart(tmp_path, case)},
                                                         {"name": "good", "path": str(charts_up["up"].local_dir)}]})
    assert code == 2, out
    assert re.search(message, out), out


def test_a_repository_without_charts_gives_every_version(charts_up: dict[str, Any], tmp_path: Path) -> None:
    """oc-mirror's rule when ``charts`` is left out: every chart and every version of the index."""
    code, out = _dry_run(charts_up, tmp_path, {"repositories": [{"name": "stable", "url": charts_up["repo"].url}]})
    assert code == 0, out
    assert "Helm: 3 chart(s) planned, 2 fully resolved" in out and "(3 helm-chart, " in out


def test_bad_repositories(charts_up: dict[str, Any], tmp_path: Path) -> None:
    """Chart or version not in the repository, an OCI chart that is not there, a repository that does not
    answer, and one that wants credentials the auth file lacks: each one message naming chart and version."""
    repo = charts_up["repo"]
    up: ChartUpstream = charts_up["up"]
    code, out = _dry_run(charts_up, tmp_path, {"repositories": [
        {"name": "stable", "url": repo.url, "charts": [{"name": "nope"}, {"name": "webapp", "version": "9.9.9"},
                                                       {"name": "webapp", "version": "1.3.0"}]},
        {"name": "oci", "url": f"oci://{up.host}/charts", "charts": [{"name": "absent", "version": "1.0.0"},
                                                                   {"name": "legacy-app", "version": ">=2"}]},
        {"name": "gone", "url": "https://127.0.0.1:9/charts", "charts": [{"name": "x", "version": "1.0.0"}]},
        {"name": "gone-oci", "url": "oci://127.0.0.1:9/charts", "charts": [{"name": "y", "version": "2.0.0"}]},
    ]})
    assert code == 2, out
    assert f"chart nope (newest stable) from repository stable ({repo.url}): chart nope is not in the chart " \
           f"repository {repo.url}\n  hint: charts in this repository: platform, webapp" in out
    assert "chart webapp 9.9.9 from repository stable" in out and "versions available: 1.4.2, 1.3.0" in out
    assert f"chart absent 1.0.0 from repository oci (oci://{up.host}/charts): oci://{up.host}/charts/absent has " \
           "no tags" in out
    assert f"chart legacy-app >=2 from repository oci (oci://{up.host}/charts): oci://{up.host}/charts/legacy-app: " \
           "no chart version matches >=2\n  hint: tags available: 1.0.0-rc.1, 0.9.0, 0.8.0" in out
    assert "chart x 1.0.0 from repository gone (https://127.0.0.1:9/charts): chart repository " \
           "https://127.0.0.1:9/charts is unreachable (index.yaml)" in out
    assert "chart y 2.0.0 from repository gone-oci (oci://127.0.0.1:9/charts): cannot reach registry 127.0.0.1:9" in out
    assert "Helm: 1 chart(s) planned, 1 fully resolved" in out        # webapp 1.3.0 still planned

    no_creds = write_authfile(tmp_path / "images-only.json", {up.host: (charts_up["server"].username,
                                                                         charts_up["server"].password)})
    code, out = _dry_run(charts_up, tmp_path, {"repositories": [
        {"name": "stable", "url": repo.url, "charts": [{"name": "webapp", "version": "1.4.2"}]}]}, auth=no_creds)
    assert code != 0
    assert f"chart webapp 1.4.2 from repository stable ({repo.url}): chart repository {repo.url} requires " \
           f"credentials for index.yaml (HTTP 401)\n  hint: add an entry for {repo.host} to the auth file" in out
