"""Operator catalogs against real registries: synthetic FBC (multi-arch), SQLite index and 4.4-style
``/bundles.db`` catalogs pushed into a TLS + Basic registry; plan, pruned catalog read back out of its
layers, and a full export + import through the CLI into a TLS + token registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bundler import config as bconfig
from bundler.auth import AuthStore
from bundler.cli import app
from bundler.content import operators
from bundler.content.imagefs import image_config, read_files
from bundler.content.operators import fbc, sqlite
from bundler.oci import parse
from bundler.plan import Plan, PlanContext
from bundler.registry.client import RegistryPool
from bundler.transport.overlay import OverlaySource
from bundler.transport.registry import RegistrySource
from testkit.certs import CA
from testkit.registry import RegistryServer, write_authfile
from testkit.synthetic_catalogs import CatalogUpstream, build_catalog_upstream


class World:
    def __init__(self, tmp: Path, ca: CA) -> None:
        self.tmp = tmp
        self.upstream = RegistryServer(ca=ca, auth="basic").start()
        self.mirror = RegistryServer(ca=ca, auth="token").start()
        self.ca_file = tmp / "ca.pem"
        self.ca_file.write_bytes(ca.pem)
        self.authfile = write_authfile(tmp / "auth.json", {
            self.upstream.host: (self.upstream.username, self.upstream.password),
            self.mirror.host: (self.mirror.username, self.mirror.password),
        })
        self.up: CatalogUpstream = build_catalog_upstream(self.upstream.client())

    def close(self) -> None:
        self.upstream.close()
        self.mirror.close()

    def source(self) -> RegistrySource:
        return RegistrySource(RegistryPool(AuthStore.load(self.authfile), self.ca_file))

    def imageset(self, name: str, catalogs: list[dict[str, Any]]) -> Path:
        doc = {"apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration",
               "mirror": {"operators": catalogs}}
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def plan(self, name: str, catalogs: list[dict[str, Any]]) -> PlanContext:
        cfg = bconfig.load(self.imageset(name, catalogs))
        ctx = PlanContext(config=cfg, source=self.source(), plan=Plan())
        operators.plan(ctx)
        return ctx


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tls_ca: CA) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("operators"), tls_ca)
    yield w
    w.close()


RULES: list[tuple[str, list[dict[str, Any]] | None, bool, set[str]]] = [
    ("heads", None, False,
     {"linear-operator.v1.2.0", "skipping-operator.v2.3.0", "multichannel-operator.v3.1.0",
      "multichannel-operator.v3.2.0", "valuebug-operator.v0.5.0", "other-operator.v9.0.0"}),
    ("package", [{"name": "multichannel-operator"}], False,
     {"multichannel-operator.v3.1.0", "multichannel-operator.v3.2.0"}),
    ("channel", [{"name": "multichannel-operator", "channels": [{"name": "fast"}]}], False,
     {"multichannel-operator.v3.2.0"}),
    ("min-skip", [{"name": "skipping-operator", "minVersion": "2.1.0"}], False,
     {"skipping-operator.v2.1.0", "skipping-operator.v2.2.0", "skipping-operator.v2.3.0"}),
    ("max", [{"name": "linear-operator", "maxVersion": "1.1.0"}], False,
     {"linear-operator.v1.0.0", "linear-operator.v1.1.0"}),
    ("value-nonhead", [{"name": "valuebug-operator", "minVersion": "0.4.2"}], False,
     {"valuebug-operator.v0.4.2", "valuebug-operator.v0.5.0"}),
    ("full", None, True, None),  # type: ignore[list-item]
]


def _carried(ctx: PlanContext) -> set[str]:
    return {str(i.source) for i in ctx.plan.images if i.kind in ("operator-bundle", "operator-related")}


@pytest.mark.parametrize("fmt", ["fbc", "sqlite", "legacy"])
@pytest.mark.parametrize(("rule", "packages", "full", "expected"), RULES, ids=[r[0] for r in RULES])
def test_plan_carries_exactly_the_selected_images(world: World, fmt: str, rule: str,
                                                  packages: list[dict[str, Any]] | None, full: bool,
                                                  expected: set[str] | None) -> None:
    catalog = world.up.catalogs[fmt]
    spec: dict[str, Any] = {"catalog": catalog}
    if packages:
        spec["packages"] = packages
    if full:
        spec["full"] = True
    ctx = world.plan(f"{fmt}-{rule}", [spec])
    assert ctx.plan.failed == {}
    names = set(world.up.bundles) if expected is None else expected
    want = world.up.images_of(names)
    if fmt == "legacy":  # 4.4 appregistry databases record no bundle images
        want -= {world.up.bundles[n].image for n in names}
    assert _carried(ctx) == want
    rec = ctx.plan.records["operators"][0]
    assert {b["name"] for b in rec["bundles"]} == names
    cats = [i for i in ctx.plan.images if i.kind == "catalog"]
    assert len(cats) == 1
    upstream_digest = world.up.digests[catalog]
    if full:
        assert cats[0].digest == upstream_digest and cats[0].rebuilt_from is None and not rec["rebuilt"]
    else:
        assert cats[0].rebuilt_from == upstream_digest and cats[0].digest != upstream_digest
        assert cats[0].tags == [parse(catalog).tag] and rec["digest"] == cats[0].digest


def test_value_images_recovered_from_every_source(world: World) -> None:
    for fmt in ("fbc", "sqlite", "legacy"):
        ctx = world.plan(f"value-{fmt}", [{"catalog": world.up.catalogs[fmt], "packages": [
            {"name": "valuebug-operator", "minVersion": "0.4.2"}]}])
        related = {str(i.source) for i in ctx.plan.images if i.kind == "operator-related"}
        assert set(world.up.value_images) <= related, fmt
        recs = {b["name"]: b for b in ctx.plan.records["operators"][0]["bundles"]}
        # the non-head bundle: index/FBC have no CSV for it -> read from the bundle image (or legacy csv)
        assert recs["valuebug-operator.v0.4.2"]["recovered"] == world.up.value_images[:1]
        assert set(recs["valuebug-operator.v0.5.0"]["recovered"]) == set(world.up.value_images)


def test_tag_reference_pinned_and_multi_arch_kept(world: World) -> None:
    ctx = world.plan("tags", [{"catalog": world.up.catalogs["sqlite"], "packages": [{"name": "linear-operator"}]}])
    by_source = {str(i.source): i for i in ctx.plan.images}
    tagged = by_source[world.up.tagged]
    assert tagged.tags == ["1.0"] and tagged.digest == world.up.digests[world.up.tagged]
    multi = by_source[world.up.multi_arch]
    assert multi.media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert multi.digest == parse(world.up.multi_arch).digest


def test_unknown_names_fail_the_plan_with_a_listing(world: World) -> None:
    with pytest.raises(bconfig.ConfigError) as exc:
        world.plan("unknown", [{"catalog": world.up.catalogs["fbc"], "packages": [{"name": "elasticsearch-operator"}]}])
    assert "elasticsearch-operator" in str(exc.value) and "valuebug-operator" in str(exc.value)


def _read_catalog(source: Any, ref: Any, arch: str) -> tuple[dict[str, Any], Any]:
    cfg = image_config(source, ref, arch)
    labels = cfg["config"].get("Labels") or {}
    root = fbc.configs_dir(labels)
    if root:
        files = read_files(source, ref, lambda p: p.startswith(root + "/"), arch)
        return cfg, fbc.parse(fbc.load_objects(files, root))
    path = sqlite.database_path(labels)
    return cfg, sqlite.parse(read_files(source, ref, lambda p: p == path, arch)[path])


@pytest.mark.parametrize("fmt", ["fbc", "sqlite", "legacy"])
def test_pruned_catalog_lists_only_the_selected_packages(world: World, fmt: str) -> None:
    pkgs = [{"name": "skipping-operator", "minVersion": "2.1.0"}, {"name": "valuebug-operator"}]
    ctx = world.plan(f"pruned-{fmt}", [{"catalog": world.up.catalogs[fmt], "packages": pkgs}])
    cat = next(i for i in ctx.plan.images if i.kind == "catalog")
    source = OverlaySource(world.source(), [ctx.store])
    top = source.get_manifest(cat.pinned)
    arches = [c["platform"]["architecture"] for c in top.doc["manifests"]] if top.is_list else ["amd64"]
    if fmt == "fbc":
        assert arches == ["amd64", "arm64"]  # every platform rebuilt
    for arch in arches:
        cfg, got = _read_catalog(source, cat.pinned, arch)
        assert cfg["architecture"] == arch
        assert sorted(got.packages) == ["skipping-operator", "valuebug-operator"]
        if fmt == "fbc":
            assert {n for _, n in got.bundles} == {"skipping-operator.v2.1.0", "skipping-operator.v2.2.0",
                                                     "skipping-operator.v2.3.0", "valuebug-operator.v0.5.0"}
            assert cfg["config"]["Cmd"] == ["serve", "/configs"]
            assert cfg["config"]["Labels"][fbc.CONFIGS_LABEL] == "/configs"
            assert "stale-operator" not in got.packages
        else:  # SQLite: whole packages kept, others removed (opm index prune)
            assert {p for p, _ in got.bundles} == {"skipping-operator", "valuebug-operator"}
    # deterministic: the same selection rebuilds to the same digest
    again = world.plan(f"pruned-{fmt}-again", [{"catalog": world.up.catalogs[fmt], "packages": pkgs}])
    assert next(i for i in again.plan.images if i.kind == "catalog").digest == cat.digest


@pytest.mark.parametrize("fmt", ["fbc", "sqlite"])
def test_export_import_every_image_resolves_in_the_mirror(world: World, fmt: str) -> None:
    runner = CliRunner()
    catalog = world.up.catalogs[fmt]
    pkgs = [{"name": "linear-operator", "minVersion": "1.1.0"},
            {"name": "valuebug-operator", "minVersion": "0.4.2"},
            {"name": "multichannel-operator", "channels": [{"name": "fast"}]}]
    cfg = world.imageset(f"e2e-{fmt}", [{"catalog": catalog, "packages": pkgs}])
    bundle = world.tmp / f"ops-{fmt}.tar.zst"
    res = runner.invoke(app, ["export", "-c", str(cfg), "-o", str(bundle), "--authfile", str(world.authfile),
                              "--ca-file", str(world.ca_file)])
    assert res.exit_code == 0, res.output
    target = f"{world.mirror.host}/ops-{fmt}"
    out = world.tmp / f"out-{fmt}"
    res = runner.invoke(app, ["import", str(bundle), "--registry", target, "-o", str(out),
                              "--authfile", str(world.authfile), "--ca-file", str(world.ca_file)])
    assert res.exit_code == 0, res.output

    names = {"linear-operator.v1.1.0", "linear-operator.v1.2.0", "valuebug-operator.v0.4.2",
             "valuebug-operator.v0.5.0", "multichannel-operator.v3.2.0"}
    expected = world.up.images_of(names)
    mapping = dict(line.split("=", 1) for line in (out / "mapping.txt").read_text().splitlines() if line)
    client = world.mirror.client()
    for src in sorted(expected):
        assert src in mapping, src
        ref = parse(src)
        dest = parse(mapping[src])
        assert dest.registry == world.mirror.host
        digest = ref.digest or world.up.digests[src]
        m = client.get_manifest(dest.repository, digest)  # by the source digest, as the cluster pulls it
        assert m.digest == digest
        if ref.tag:  # tag references stay reachable by tag (ITMS)
            assert client.get_manifest(dest.repository, ref.tag).digest == digest
        if m.is_list:
            for child in m.doc["manifests"]:
                assert client.get_manifest(dest.repository, child["digest"]).digest == child["digest"]
    # the mirror rules cover every bundle and related repository
    idms = yaml.safe_load((out / "imageDigestMirrorSet.yaml").read_text())
    sources = {r["source"]: r["mirrors"] for r in idms["spec"]["imageDigestMirrors"]}
    for src in expected:
        ref = parse(src)
        assert sources[ref.name] == [f"{target}/{ref.repository}"]
    itms = yaml.safe_load((out / "imageTagMirrorSet.yaml").read_text())
    assert parse(world.up.tagged).name in {r["source"] for r in itms["spec"]["imageTagMirrors"]}

    # the CatalogSource points at the rebuilt catalog, by digest, and it is in the mirror
    name = operators.catalog_name(bconfig.load(cfg).operators[0])
    cs = yaml.safe_load((out / f"catalogSource-{name}.yaml").read_text())
    assert cs["spec"]["sourceType"] == "grpc" and cs["metadata"]["namespace"] == "openshift-marketplace"
    image = parse(cs["spec"]["image"])
    assert image.registry == world.mirror.host and image.digest
    assert image.digest != world.up.digests[catalog]
    assert client.get_manifest(image.repository, image.digest).digest == image.digest
    assert mapping[catalog] == f"{image.name}:{parse(catalog).tag}"
    assert client.get_manifest(image.repository, parse(catalog).tag).digest == image.digest
    cc = yaml.safe_load((out / f"clusterCatalog-{name}.yaml").read_text())
    assert cc["spec"]["source"]["image"]["ref"] == cs["spec"]["image"]
    # the catalog the cluster will serve, read from the mirror, lists only the carried packages
    _, served = _read_catalog(world.source(), image, "amd64")
    assert sorted(served.packages) == ["linear-operator", "multichannel-operator", "valuebug-operator"]
    if fmt == "fbc":
        assert {n for _, n in served.bundles} == names
        assert served.packages["multichannel-operator"].default_channel == "fast"


@pytest.mark.parametrize("fmt", ["fbc", "sqlite"])
def test_dry_run_with_a_filtered_catalog_writes_nothing(world: World, fmt: str) -> None:
    """A dry run plans the pruned catalog too (it has to build it to know its size) but leaves nothing
    where the bundle would go."""
    from testkit.cli import invoke

    cfg = world.imageset(f"dry-{fmt}", [{"catalog": world.up.catalogs[fmt],
                                         "packages": [{"name": "linear-operator"}]}])
    bundle = world.tmp / f"dry-{fmt}" / "b.tar.zst"
    code, output = invoke("export", "-c", cfg, "-o", bundle, "--authfile", world.authfile, "--ca-file",
                          world.ca_file, "--dry-run")
    assert code == 0, output
    assert "1 catalog" in output and "operator-bundle" in output
    assert not bundle.parent.exists() or not any(bundle.parent.iterdir())
