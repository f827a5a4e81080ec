"""The pure parts of the habits work, in milliseconds: --max-nested-paths flattening and collisions, where
images land (targets, kinds), dependency resolution rules (ranges, GVK providers, default channel at a tie,
the head's skips, what cannot be satisfied), minBundle, defaultChannel, the CatalogSource template merge,
the sqlite properties, the platform policy."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bundler.bundle.metadata import ImageRecord
from bundler.config import CatalogSpec, ChannelSpec, PackageSpec
from bundler.content.operators import deps
from bundler.content.operators.catalogsource import catalog_source
from bundler.content.operators.model import Bundle, Catalog, Channel, Entry, Package, parse_version
from bundler.content.operators.select import from_bundle, select
from bundler.content.operators.sqlite_props import bundle_properties
from bundler.errors import ConfigError
from bundler.landing import plan_landing
from bundler.mapping import flatten, plan_targets
from bundler.oci import parse
from bundler.outputs import listing
from bundler.records import send_to

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.mark.parametrize(("path", "n", "flat"), [
    ("pfx/openshift-release-dev/ocp-v4.0-art-dev", 2, "pfx/openshift-release-dev-ocp-v4.0-art-dev"),
    ("a/b/c/d", 3, "a/b/c-d"), ("a/b", 2, "a/b"), ("a/b/c", 0, "a/b/c"), ("a/b/c", 1, "a-b-c"),
])
def test_flatten_as_oc_mirror(path: str, n: int, flat: str) -> None:
    assert flatten(path, n) == flat


def _img(ref: str, kind: str = "additional", digest: str = D1, tags: list[str] | None = None) -> ImageRecord:
    r = parse(ref)
    return ImageRecord(kind, r, digest, tags=tags if tags is not None else ([r.tag] if r.tag else []))


def test_flattening_collisions_are_kept_apart_deterministically() -> None:
    images = [_img("quay.io/a/b-c:v1"), _img("quay.io/a-b/c:v1", digest=D2), _img("quay.io/x/y/z:v1")]
    got = plan_targets(images, "mirror.example:5000", max_nested=1)
    a, b, z = (got[(i.source.name, i.digest)][0] for i in images)
    assert a.repository != b.repository and a.repository.startswith("mirror.example:5000/a-b-c-")
    assert b.repository.startswith("mirror.example:5000/a-b-c-") and z.repository == "mirror.example:5000/x-y-z"
    assert a.flattened and b.flattened
    again = plan_targets(list(reversed(images)), "mirror.example:5000", max_nested=1)
    assert again[(images[0].source.name, D1)] == [a]
    # a path that was not flattened keeps its name; the flattened one colliding with it moves
    kept = plan_targets([_img("quay.io/a/b-c:v1"), _img("quay.io/a/b/c:v1", digest=D2)], "m:1", max_nested=2)
    assert kept[("quay.io/a/b-c", D1)][0].repository == "m:1/a/b-c"
    assert kept[("quay.io/a/b/c", D2)][0].repository.startswith("m:1/a/b-c-")


def test_targets_of_overriding_kinds_and_the_others() -> None:
    records: dict[str, Any] = {}
    send_to(records, "quay.io/tools/support", D1, "tools/support-tools", "9.4")
    send_to(records, "quay.io/ops/operand", D2, "lab/operand", None)
    add = _img("quay.io/tools/support@" + D1, tags=[])
    related = _img("quay.io/ops/operand@" + D2, kind="operator-related", digest=D2, tags=[])
    landing = plan_landing([add, related], "mirror.example:5000/pfx", records)
    placed = {(img.kind, repo, job.tags) for img, repo, job in landing.placed}
    assert placed == {
        ("additional", "mirror.example:5000/pfx/tools/support-tools", ("9.4",)),
        # first planned as a related image: its source path stays too, where the catalog expects it
        ("operator-related", "mirror.example:5000/pfx/lab/operand", ("sha256-" + "2" * 64,)),
        ("operator-related", "mirror.example:5000/pfx/ops/operand", ("sha256-" + "2" * 64,)),
    }


# -- dependencies -----------------------------------------------------------------------------------

def _catalog(packages: dict[str, tuple[str, dict[str, list[str]]]], props: dict[str, list[dict[str, Any]]]) -> Catalog:
    cat = Catalog("fbc", "/configs")
    for name, (default, channels) in packages.items():
        pkg = cat.packages.setdefault(name, Package(name, default))
        for ch, versions in channels.items():
            entries = [Entry(f"{name}.v{v}", f"{name}.v{versions[i - 1]}" if i else None) for i, v in enumerate(versions)]
            pkg.channels[ch] = Channel(ch, name, entries)
            for v in versions:
                b = f"{name}.v{v}"
                cat.bundles[(name, b)] = Bundle(b, name, f"quay.io/x/{name}@{D1}", v, properties=props.get(b, []))
    return cat


def _req(pkg: str, rng: str = "") -> dict[str, Any]:
    return {"type": "olm.package.required", "value": {"packageName": pkg, "versionRange": rng}}


@pytest.mark.parametrize(("text", "yes", "no"), [
    (">=1.0.0 <2.0.0", ["1.0.0", "1.9.9"], ["2.0.0", "0.9.0"]),
    ("1.x", ["1.0.0", "1.7.3"], ["2.0.0"]),
    (">=1.2.x", ["1.2.0", "3.0.0"], ["1.1.9"]),
    ("<1.0.0 || >=3.0.0", ["0.5.0", "3.1.0"], ["1.0.0", "2.0.0"]),
    ("!=1.5.0", ["1.4.0"], ["1.5.0"]),
    ("=1.5.0", ["1.5.0"], ["1.5.1"]),
])
def test_blang_ranges(text: str, yes: list[str], no: list[str]) -> None:
    rng = deps.parse_range(text)
    assert rng is not None
    assert all(deps.in_range(parse_version(v), rng) for v in yes)
    assert not any(deps.in_range(parse_version(v), rng) for v in no)


def test_dependencies_transitive_latest_in_range_with_path_to_head() -> None:
    cat = _catalog({"app": ("stable", {"stable": ["1.0.0"]}),
                    "lib": ("stable", {"stable": ["1.0.0", "1.1.0", "2.0.0"]}),
                    "base": ("fast", {"stable": ["3.0.0"], "fast": ["3.0.0"]})},
                   {"app.v1.0.0": [_req("lib", ">=1.0.0 <2.0.0")],
                    "lib.v1.1.0": [{"type": "olm.gvk.required", "value": {"group": "g", "version": "v1", "kind": "K"}}],
                    "base.v3.0.0": [{"type": "olm.gvk", "value": {"group": "g", "version": "v1", "kind": "K"}}]})
    sel = select(cat, CatalogSpec(parse("quay.io/x/index:v1"), packages=[PackageSpec("app")]))
    added = deps.resolve(cat, sel)
    # lib 1.1.0 is the latest in range; the path from it to its channel's head (2.0.0) comes along (v1)
    assert sel.channels["lib"] == {"stable": ["lib.v1.1.0", "lib.v2.0.0"]}
    # base provides the API lib 1.1.0 requires; at equal versions the default channel (fast) wins
    assert sel.channels["base"] == {"fast": ["base.v3.0.0"]} and sel.default_channels["base"] == "fast"
    assert len(added.reasons) == 2 and not added.unsatisfied


def test_dependencies_satisfied_already_or_unsatisfiable() -> None:
    cat = _catalog({"app": ("stable", {"stable": ["1.0.0"]}), "lib": ("stable", {"stable": ["1.0.0", "1.1.0"]})},
                   {"app.v1.0.0": [_req("lib"), _req("ghost", ">=1.0.0")]})
    sel = select(cat, CatalogSpec(parse("quay.io/x/index:v1"), packages=[PackageSpec("app"), PackageSpec("lib")]))
    added = deps.resolve(cat, sel)
    assert sel.channels["lib"] == {"stable": ["lib.v1.1.0"]}  # carried lib satisfies it: nothing added
    assert added.unsatisfied == ["app.v1.0.0 requires package ghost >=1.0.0, which no bundle of the catalog provides"]


def test_dependency_the_head_skips_is_not_added_with_a_path() -> None:
    cat = _catalog({"lib": ("stable", {"stable": ["1.0.0", "2.0.0"]})}, {})
    cat.packages["lib"].channels["stable"].entries[1].skips = ["lib.v1.0.0"]
    cat.packages["lib"].channels["stable"].entries[1].replaces = None
    assert deps.path_to_head(cat.packages["lib"].channels["stable"], "lib.v1.0.0") == set()


def test_min_bundle_and_default_channel() -> None:
    cat = _catalog({"mtc": ("release-v1.7", {"release-v1.7": ["1.7.8", "1.7.9", "1.7.10"], "old": ["1.6.0"]})}, {})
    ch = cat.packages["mtc"].channels["release-v1.7"]
    assert from_bundle(ch, "mtc.v1.7.9", "x") == {"mtc.v1.7.9", "mtc.v1.7.10"}
    with pytest.raises(ConfigError, match="minBundle 'mtc.v1.0.0' is not on the channel's upgrade path"):
        from_bundle(ch, "mtc.v1.0.0", "x")
    spec = CatalogSpec(parse("quay.io/x/index:v1"), packages=[PackageSpec("mtc", min_bundle="mtc.v1.7.9")])
    sel = select(cat, spec)
    assert sel.channels["mtc"] == {"old": ["mtc.v1.6.0"], "release-v1.7": ["mtc.v1.7.9", "mtc.v1.7.10"]}
    spec = CatalogSpec(parse("quay.io/x/index:v1"), packages=[PackageSpec("mtc", default_channel="old")])
    assert select(cat, spec).default_channels == {"mtc": "old"}
    spec = CatalogSpec(parse("quay.io/x/index:v1"),
                       packages=[PackageSpec("mtc", [ChannelSpec("old")], default_channel="release-v1.7")])
    with pytest.raises(ConfigError, match="defaultChannel 'release-v1.7' is not among the carried channels"):
        select(cat, spec)


def test_catalog_source_template_merge() -> None:
    template = {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "CatalogSource",
                "metadata": {"name": "mine", "namespace": "elsewhere", "labels": {"team": "a"}},
                "spec": {"sourceType": "grpc", "image": "old", "priority": -100, "displayName": "Mine",
                         "grpcPodConfig": {"securityContextConfig": "restricted"}}}
    cs = catalog_source("cs-index", "m:5000/index@" + D1, "Index", template)
    assert cs["metadata"] == {"name": "cs-index", "namespace": "openshift-marketplace", "labels": {"team": "a"}}
    assert cs["spec"] == {"sourceType": "grpc", "image": "m:5000/index@" + D1, "priority": -100, "displayName": "Mine",
                          "grpcPodConfig": {"securityContextConfig": "restricted"}, "publisher": "bundler"}
    assert template["spec"]["image"] == "old"  # the template itself is left alone
    assert catalog_source("c", "i", "D")["spec"] == {"sourceType": "grpc", "image": "i", "displayName": "D",
                                                     "publisher": "bundler"}


def test_sqlite_properties_and_requirements() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(str(Path(tmp) / "x.db"))
        conn.executescript("""
CREATE TABLE properties (type TEXT, value TEXT, operatorbundle_name TEXT, operatorbundle_version TEXT,
  operatorbundle_path TEXT);
CREATE TABLE dependencies (type TEXT, value TEXT, operatorbundle_name TEXT, operatorbundle_version TEXT,
  operatorbundle_path TEXT);
CREATE TABLE api_provider (group_name TEXT, version TEXT, kind TEXT, operatorbundle_name TEXT,
  operatorbundle_version TEXT, operatorbundle_path TEXT);
""")
        conn.execute("INSERT INTO dependencies VALUES ('olm.package', ?, 'a.v1', '1', '')",
                     (json.dumps({"packageName": "b", "version": ">=1.0.0"}),))
        conn.execute("INSERT INTO api_provider VALUES ('g', 'v1', 'K', 'b.v1', '1', '')")
        props = bundle_properties(conn, {"properties", "dependencies", "api_provider"})
    assert props["a.v1"] == [{"type": "olm.package.required", "value": {"packageName": "b", "versionRange": ">=1.0.0"}}]
    assert props["b.v1"] == [{"type": "olm.gvk", "value": {"group": "g", "version": "v1", "kind": "K"}}]


# -- oci:// layouts and references without tag or digest, through export --dry-run (no registry needed) ----

def _layout_isc(tmp: Path, catalog: Path) -> Path:
    p = tmp / "isc.yaml"
    p.write_text(f"kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n"
                 f"  operators:\n  - catalog: oci://{catalog}\n")
    return p


def test_oci_layout_that_holds_no_catalog_names_file_line_and_field(tmp_path: Path) -> None:
    from testkit.cli import invoke
    from testkit.fbc_catalogs import write_layout

    write_layout(tmp_path / "plain", image_files={"usr/bin/tool": b"#!/bin/sh\n"})
    code, out = invoke("export", "-c", _layout_isc(tmp_path, tmp_path / "plain"), "-o", tmp_path / "b", "--dry-run")
    assert code == 1, out
    assert "isc.yaml line 5: mirror.operators[0].catalog: oci://" in out and "holds no operator catalog" in out
    # two images and no @sha256: which one?
    index = json.loads((tmp_path / "plain" / "index.json").read_text())
    index["manifests"].append(dict(index["manifests"][0], annotations={"org.opencontainers.image.ref.name": "other"}))
    (tmp_path / "plain" / "index.json").write_text(json.dumps(index))
    code, out = invoke("export", "-c", _layout_isc(tmp_path, tmp_path / "plain"), "-o", tmp_path / "b", "--dry-run")
    assert code == 1 and "holds 2 images (latest, other); which one is meant?" in out and "oci://PATH@sha256:" in out


def test_references_without_tag_or_digest_name_the_bundle_and_the_image(tmp_path: Path) -> None:
    from testkit.cli import invoke
    from testkit.fbc_catalogs import write_layout

    docs = [{"schema": "olm.package", "name": "p", "defaultChannel": "s"},
            {"schema": "olm.channel", "package": "p", "name": "s", "entries": [{"name": "p.v1.0.0"}]},
            {"schema": "olm.bundle", "name": "p.v1.0.0", "package": "p", "image": "bundles.invalid/p/bundle",
             "properties": [{"type": "olm.package", "value": {"packageName": "p", "version": "1.0.0"}}],
             "relatedImages": [{"name": "op", "image": "ops.invalid/p/operator"}]}]
    write_layout(tmp_path / "cat", {"configs/p/catalog.json": "".join(json.dumps(d) for d in docs).encode()})
    code, out = invoke("export", "-c", _layout_isc(tmp_path, tmp_path / "cat"), "-o", tmp_path / "b", "--dry-run")
    assert code == 2, out
    assert "bundle p.v1.0.0 names its image bundles.invalid/p/bundle without a tag or a digest" in out
    assert "bundle p/p.v1.0.0 names related image ops.invalid/p/operator without a tag or a digest" in out
    assert ":latest" not in out


def test_outputs_listed_relative_to_the_output_directory(tmp_path: Path) -> None:
    """Two releases' tools (tools/4.4.5/oc, tools/4.4.6/oc) are told apart in the line import prints."""
    written = [tmp_path / "registries.conf", tmp_path / "tools" / "4.4.5" / "oc", tmp_path / "tools" / "4.4.6" / "oc"]
    assert listing(tmp_path, written) == f"Outputs in {tmp_path}: registries.conf, tools/4.4.5/oc, tools/4.4.6/oc"
