"""The realistic configurations (tests/data/isc/), rewritten to name a real TLS + token registry holding what
they name (testkit.realistic): how many load and export, and that every field does what oc-mirror's does,
seen in the plan (dry runs) and, for two of them, in the mirror after export + import."""

from __future__ import annotations

import json
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundler import config
from bundler.export import ExportOptions, ExportResult, run_export
from bundler.records import BLOCKED, PLATFORMS, TARGETS
from testkit.charts import write_dir
from testkit.cli import invoke
from testkit.realistic_fixtures import RealWorld
from testkit.registry import RegistryServer

# file -> the kinds a dry run plans, or the reason it is refused (release channels are issue 9's)
EXPECTED: dict[str, dict[str, int] | str] = {
    "release-pinned.yaml": {"release": 1, "release-component": 3, "additional": 3},  # kubeVirtContainer: the disk
    "operators-filtered.yaml": {"catalog": 2, "operator-bundle": 13, "operator-related": 13},
    "operators-oci.yaml": {"catalog": 2, "operator-bundle": 3, "operator-related": 3, "additional": 1},
    "blocked-and-samples.yaml": {"release": 1, "release-component": 2, "sample": 3},
    "v1-local-storage.yaml": {"catalog": 1, "operator-bundle": 7, "operator-related": 7, "additional": 1},
    "v1-registry-backend.yaml": {"catalog": 1, "operator-bundle": 1, "operator-related": 1},
    "bundler-extensions.yaml": {"bootstrap": 1, "release": 2, "release-component": 3, "sample": 4},
    "platforms-multi.yaml": {"additional": 1},
    "nothing-carried.yaml": "names nothing bundler can carry yet",
}
ELSEWHERE = ("channels-eus.yaml", "channels-only.yaml", "okd.yaml", "helm.yaml")
"""Releases by channel (issue 9) and Helm charts (issue 13): they load here; their export needs the update graph
or chart repositories, served in tests/test_release_* and tests/test_helm_*."""


WITH_CHANNELS = ("v1-local-storage.yaml", "platforms-multi.yaml")
"""Dry-run without their release channels (issue 9's; they need an update graph)."""


def _dry_run(world: RealWorld, name: str, tmp: Path) -> tuple[ExportResult, list[str]]:
    lines: list[str] = []
    cfg = world.config(name, tmp / "cfg", drop_channels=name in WITH_CHANNELS)
    opts = ExportOptions(config_path=cfg, bundle=tmp / "b.tar.zst", authfile=world.authfile, ca_file=world.ca_file,
                         dry_run=True)
    return run_export(opts, lines.append), lines


def _by_key(result: ExportResult) -> dict[str, Any]:
    return {f"{i.source.name}@{i.digest}": i for i in result.plan.images}


def test_how_many_realistic_configurations_export(realistic: RealWorld, tmp_path: Path) -> None:
    exported = 0
    for name, expected in EXPECTED.items():
        if isinstance(expected, str):
            with pytest.raises(config.ConfigLoadError, match=expected):
                _dry_run(realistic, name, tmp_path / name)
            continue
        result, lines = _dry_run(realistic, name, tmp_path / name)
        assert result.failed == {}, (name, result.failed)
        assert dict(Counter(i.kind for i in result.plan.images)) == expected, name
        assert not [line for line in lines if "not applied yet" in line or "not carried yet" in line], name
        exported += 1
    for name in ELSEWHERE:
        cfg = config.load(realistic.config(name, tmp_path / name))
        assert cfg.platform.channels or cfg.helm
    # 8 here + 4 elsewhere + delete.yaml, a DeleteImageSetConfiguration (tests/test_habits_delete.py): 13 of the
    # 14 realistic configurations; nothing-carried.yaml is refused on purpose
    assert exported == 8


def test_operators_filtered_as_oc_mirror_filters(realistic: RealWorld, tmp_path: Path) -> None:
    result, lines = _dry_run(realistic, "operators-filtered.yaml", tmp_path)
    host = realistic.upstream.host
    rec = {r["catalog"]: r for r in result.plan.records["operators"]}[f"{host}/redhat/redhat-operator-index:v4.16"]
    logging = rec["packages"]["cluster-logging"]
    assert logging["defaultChannel"] == "stable-6.0"
    assert logging["channels"] == {"stable-6.0": ["cluster-logging.v6.0.1", "cluster-logging.v6.0.2"],
                                   "stable-5.9": ["cluster-logging.v5.9.6", "cluster-logging.v5.9.7"]}
    # skipDependencies: false -> cluster-logging 6.0.2's olm.package.required pulls in loki-operator
    assert rec["packages"]["loki-operator"]["channels"] == {"stable-6.0": ["loki-operator.v6.0.1"]}
    assert any("loki-operator.v6.0.1" in w and "oc-mirror v2 carries no dependencies" in w for w in lines)
    # targetCatalog / targetTag: where the rebuilt catalog lands
    catalog = next(i for i in result.plan.images if i.kind == "catalog" and "redhat-operator-index" in i.source.name)
    targets = result.plan.records[TARGETS][f"{catalog.source.name}@{catalog.digest}"]
    assert targets == [{"repository": "lab/redhat-operator-index", "tag": "v4.16-lab"}]
    # platforms: linux/amd64 -> the rebuilt catalog lists that platform only (the upstream lists two)
    assert result.resolution is not None
    tree = next(t for k, t in result.resolution.trees.items() if k.startswith(f"{catalog.source.name}@{catalog.digest}"))
    assert len(tree) == 2 and [c.platform.architecture for c in tree[-1].children if c.platform] == ["amd64"]
    # the certified catalog (by digest, full: true for one package): every bundle of it, not rebuilt whole
    cert = {r["catalog"]: r for r in result.plan.records["operators"]}
    assert sorted(b["name"] for b in next(v for k, v in cert.items() if "certified" in k)["bundles"]) == [
        "gpu-operator-certified.v24.6.0", "gpu-operator-certified.v24.6.1"]


def test_release_pinned_targets_and_platforms(realistic: RealWorld, tmp_path: Path) -> None:
    result, lines = _dry_run(realistic, "release-pinned.yaml", tmp_path)
    assert "Splitting into parts of 4 GiB (archiveSize" in "\n".join(lines)
    images = _by_key(result)
    tools = next(k for k in images if "support-tools" in k)
    assert result.plan.records[TARGETS][tools] == [{"repository": "tools/support-tools", "tag": "9.4"}]
    exporter = next(k for k in images if "node-exporter" in k)
    assert result.plan.records[PLATFORMS] == {exporter: ["linux/amd64", "linux/arm64"]}
    assert result.resolution is not None
    tree = next(t for key, t in result.resolution.trees.items() if key.startswith(exporter))
    assert len(tree[-1].children) == 4 and len(tree) == 3  # the list of four, two of its images


def _chart_dir(root: Path, image: str) -> Path:
    return write_dir(root / "exporter", {
        "Chart.yaml": "apiVersion: v2\nname: exporter\nversion: 1.0.0\n",
        "values.yaml": f"image: {image}\n",
        "templates/daemonset.yaml": "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: exporter\nspec:\n"
                                    "  template:\n    spec:\n      containers:\n      - name: exporter\n"
                                    "        image: {{ .Values.image }}\n"})


@pytest.mark.parametrize("also_whole", [False, True])
def test_helm_chart_platforms_narrow_the_images_it_deploys(realistic: RealWorld, tmp_path: Path,
                                                           also_whole: bool) -> None:
    """A chart's ``platforms`` narrows the multi-platform images it deploys, as ``additionalImages[].platforms``
    does; the same image also wanted whole (an additional image without platforms) is carried whole."""
    image = f"{realistic.upstream.host}/prometheus/node-exporter:v1.8.2"   # a list of four platforms upstream
    mirror: dict[str, Any] = {"helm": {"local": [{"name": "exporter", "path": str(_chart_dir(tmp_path, image)),
                                                  "platforms": [{"os": "linux", "architecture": "arm64"}]}]}}
    if also_whole:
        mirror["additionalImages"] = [{"name": image}]
    cfg = tmp_path / "isc.yaml"
    cfg.write_text(yaml.safe_dump({"kind": "ImageSetConfiguration", "apiVersion": "mirror.openshift.io/v2alpha1",
                                   "mirror": mirror}))
    lines: list[str] = []
    result = run_export(ExportOptions(config_path=cfg, bundle=tmp_path / "b.tar.zst", authfile=realistic.authfile,
                                      ca_file=realistic.ca_file, dry_run=True), lines.append)
    assert result.failed == {} and not [line for line in lines if "not applied" in line], lines
    exporter = next(k for k in _by_key(result) if "node-exporter" in k)
    assert result.resolution is not None
    tree = next(t for key, t in result.resolution.trees.items() if key.startswith(exporter))
    if also_whole:
        assert PLATFORMS not in result.plan.records and len(tree) == 5   # the list and its four images
    else:
        assert result.plan.records[PLATFORMS] == {exporter: ["linux/arm64"]}
        assert len(tree) == 2 and len(tree[-1].children) == 4           # the list of four, one of its images


def test_blocked_images_and_samples_list(realistic: RealWorld, tmp_path: Path) -> None:
    result, lines = _dry_run(realistic, "blocked-and-samples.yaml", tmp_path)
    host = realistic.upstream.host
    assert sorted(b["image"] for b in result.plan.records[BLOCKED]) == [f"{host}/library/alpine:3.20",
                                                                         f"{host}/unwanted/debug-tools:latest"]
    assert sum("is left out: it matches blockedImages" in line for line in lines) == 2
    samples = result.plan.records["samples"]
    assert sorted(samples["streams"]) == ["python", "ruby"]  # the list form names the streams to carry
    assert set(samples["skippedByConfig"]) == {"nodejs", "jenkins", "jenkins-agent-base"}


def test_v1_semantics(realistic: RealWorld, tmp_path: Path) -> None:
    result, _ = _dry_run(realistic, "v1-local-storage.yaml", tmp_path)
    rec = result.plan.records["operators"][0]
    assert sorted(b["name"] for b in rec["bundles"]) == [
        "aws-load-balancer-operator.v1.0.0", "aws-load-balancer-operator.v1.0.1", "aws-load-balancer-operator.v1.1.0",
        "kiali-ossm.v1.65.0", "kiali-ossm.v1.73.0",           # full: true + minVersion: v1 carries the range
        "mtc-operator.v1.7.10", "mtc-operator.v1.7.9"]        # minBundle to the head
    catalog = next(i for i in result.plan.images if i.kind == "catalog")
    assert result.plan.records[TARGETS][f"{catalog.source.name}@{catalog.digest}"] == [
        {"repository": "redhat/my-operator-index", "tag": None}]  # targetName replaces the last component


def _export_import(world: RealWorld, name: str, tmp: Path, mirror: RegistryServer, prefix: str,
                   *extra: str) -> tuple[int, str, Path]:
    cfg = world.config(name, tmp / "cfg")
    bundle = tmp / "b.tar.zst"
    code, out = invoke("export", "-c", cfg, "-o", bundle, "--authfile", world.authfile, "--ca-file", world.ca_file)
    assert code in (0, 2), out
    outdir = tmp / "out"
    code, out2 = invoke("import", bundle, "--registry", f"{mirror.host}/{prefix}", "-o", outdir,
                        "--authfile", world.authfile, "--ca-file", world.ca_file, *extra)
    return code, out + out2, outdir


def test_oci_catalog_template_and_layout_image_round_trip(realistic: RealWorld, tmp_path: Path,
                                                          basic_registry: tuple[RegistryServer, str]) -> None:
    mirror, prefix = basic_registry
    code, out, outdir = _export_import(realistic, "operators-oci.yaml", tmp_path, mirror, prefix)
    assert code == 0, out
    client = mirror.client()
    # oci:// catalog -> targetCatalog:targetTag; oci:// image -> targetRepo:targetTag
    cat = client.get_manifest(f"{prefix}/certified/certified-index", "v4.16")
    assert client.get_manifest(f"{prefix}/tools/debug-tools", "1.0").media_type.endswith("manifest.v1+json")
    sources = {yaml.safe_load((outdir / n).read_text())["metadata"]["name"]: yaml.safe_load((outdir / n).read_text())
               for n in ("catalogSource-certified-index.yaml", "catalogSource-redhat-operator-index.yaml")}
    cs = sources["certified-index"]
    template = yaml.safe_load((tmp_path / "cfg" / "files" / "catalogsource-template.yaml").read_text())
    assert cs["spec"]["image"] == f"{mirror.host}/{prefix}/certified/certified-index@{cat.digest}"
    assert cs["metadata"]["namespace"] == "openshift-marketplace" and cs["spec"]["sourceType"] == "grpc"
    for key, value in template["spec"].items():  # everything else of the template is kept
        if key not in ("image", "sourceType"):
            assert cs["spec"][key] == value, key
    # the layout's image has no source registry: no mirror rule names it
    idms = (outdir / "imageDigestMirrorSet.yaml").read_text()
    assert "oci-layout.invalid" not in idms and "devworkspace-operator" in idms  # the dependency was carried
    report = json.loads((outdir / "report.json").read_text())
    assert any(i["mirror"] == f"{mirror.host}/{prefix}/tools/debug-tools:1.0" for i in report["images"])
    # the mirror's credentials from --authfile (and only those: not the upstream's) for install-config
    secret = outdir / "pull-secret.json"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert set(json.loads(secret.read_text())["auths"]) == {mirror.host} and mirror.password not in out


def test_sparse_list_refused_by_distribution(realistic: RealWorld, tmp_path: Path,
                                             basic_registry: tuple[RegistryServer, str]) -> None:
    """Docker Distribution refuses a manifest list whose children are not all there: the selected platforms'
    images arrive (by digest), the list fails by reference with what to do; everything else is imported (here
    with --max-nested-paths 2: every path below the prefix is flattened into one component)."""
    mirror, prefix = basic_registry
    code, out, outdir = _export_import(realistic, "release-pinned.yaml", tmp_path, mirror, prefix,
                                       "--max-nested-paths", "2")
    assert code == 2, out
    assert "the registry refused the manifest list carried for 2 of its 4 platforms (a sparse list)" in out
    assert "validation.manifests.indexes.platforms: none" in out
    client = mirror.client()
    assert client.get_manifest(f"{prefix}/tools-support-tools", "9.4")  # targetRepo / targetTag, flattened
    assert client.head_manifest(f"{prefix}/prometheus-node-exporter", "v1.8.2") is None
    assert client.head_manifest(f"{prefix}/openshift-release-dev-ocp-release", "4.16.8-x86_64")
    exporter = realistic.up.digests["prometheus/node-exporter:v1.8.2"]
    kids = [c for c in realistic.upstream.client().get_manifest("prometheus/node-exporter", exporter).children]
    present = {c.platform.architecture: client.head_manifest(f"{prefix}/prometheus-node-exporter", c.digest) is not None
               for c in kids if c.platform}
    assert present == {"amd64": True, "arm64": True, "ppc64le": False, "s390x": False}
