"""Operator catalogs without a registry: both formats parsed from real files (FBC JSON/YAML, an
SQLite database with opm's schema), the oc-mirror v2 selection rules, pruning, outputs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from bundler.config import CatalogSpec, ChannelSpec, PackageSpec
from bundler.content import operators
from bundler.content.operators import fbc, sqlite
from bundler.content.operators.model import (
    Bundle,
    Catalog,
    Channel,
    Entry,
    Package,
    VersionRange,
    decode_objects,
    parse_version,
    related_from_csv,
)
from bundler.content.operators.select import channel_head, filter_by_range, select
from bundler.errors import BundlerError, ConfigError
from bundler.oci import parse
from bundler.outputs import MirroredImage, OutputContext
from testkit.synthetic_catalogs import build_sqlite, fbc_files, offline_upstream

UP = offline_upstream()
CAT = parse("registry.example.com/catalogs/index:v4.14")


def _fbc() -> Catalog:
    return fbc.parse(fbc.load_objects(fbc_files(UP), "configs"), "/configs")


def _sqlite(legacy: bool = False) -> Catalog:
    return sqlite.parse(build_sqlite(UP, legacy=legacy), "/bundles.db" if legacy else "/database/index.db")


FORMATS = {"fbc": _fbc, "sqlite": _sqlite, "legacy": lambda: _sqlite(True)}

# (rule, packages, full, expected bundle names)
RULES: list[tuple[str, list[PackageSpec], bool, set[str]]] = [
    ("no packages: head of every channel", [], False,
     {"linear-operator.v1.2.0", "skipping-operator.v2.3.0", "multichannel-operator.v3.1.0",
      "multichannel-operator.v3.2.0", "valuebug-operator.v0.5.0", "other-operator.v9.0.0"}),
    ("package without channels: head of each channel", [PackageSpec("multichannel-operator")], False,
     {"multichannel-operator.v3.1.0", "multichannel-operator.v3.2.0"}),
    ("channel without range: its head", [PackageSpec("multichannel-operator", [ChannelSpec("fast")])], False,
     {"multichannel-operator.v3.2.0"}),
    ("minVersion: up the replaces chain to the head", [PackageSpec("linear-operator", min_version="1.1.0")], False,
     {"linear-operator.v1.1.0", "linear-operator.v1.2.0"}),
    ("minVersion over a skip", [PackageSpec("skipping-operator", min_version="2.1.0")], False,
     {"skipping-operator.v2.1.0", "skipping-operator.v2.2.0", "skipping-operator.v2.3.0"}),
    ("maxVersion: lowest node reaching the most", [PackageSpec("skipping-operator", max_version="2.1.0")], False,
     {"skipping-operator.v2.0.0", "skipping-operator.v2.1.0"}),
    ("min == max: exactly that version",
     [PackageSpec("linear-operator", min_version="1.1.0", max_version="1.1.0")], False, {"linear-operator.v1.1.0"}),
    ("package range over every channel", [PackageSpec("multichannel-operator", min_version="3.1.0")], False,
     {"multichannel-operator.v3.1.0", "multichannel-operator.v3.2.0"}),
    ("channel range wins over package range",
     [PackageSpec("multichannel-operator", [ChannelSpec("fast", min_version="3.0.0")], min_version="3.2.0")], False,
     {"multichannel-operator.v3.0.0", "multichannel-operator.v3.1.0", "multichannel-operator.v3.2.0"}),
    ("full with packages: every entry", [PackageSpec("skipping-operator")], True,
     {f"skipping-operator.v{v}" for v in ("2.0.0", "2.1.0", "2.2.0", "2.3.0")}),
    ("full: everything", [], True, set(UP.bundles)),
]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize(("rule", "packages", "full", "expected"), RULES, ids=[r[0] for r in RULES])
def test_selection_rules_same_in_every_format(fmt: str, rule: str, packages: list[PackageSpec], full: bool,
                                              expected: set[str]) -> None:
    cat = FORMATS[fmt]()
    sel = select(cat, CatalogSpec(CAT, full=full, packages=packages))
    assert {n for _, n in sel.bundles} == expected
    assert sel.everything == (full and not packages)


def test_formats_agree_on_the_model() -> None:
    a, b, c = _fbc(), _sqlite(), _sqlite(True)
    assert sorted(a.packages) == sorted(b.packages) == sorted(c.packages) == sorted(UP.packages)
    for name, pkg in a.packages.items():
        assert pkg.default_channel == b.packages[name].default_channel == c.packages[name].default_channel
        for ch in pkg.channels.values():
            for other in (b, c):
                och = other.packages[name].channels[ch.name]
                assert channel_head(och) == channel_head(ch)
                assert {e.name: (e.replaces, sorted(e.skips)) for e in och.entries} == \
                    {e.name: (e.replaces, sorted(e.skips)) for e in ch.entries if e.name in {x.name for x in och.entries}}
    assert {k: v.version for k, v in a.bundles.items()} == {k: v.version for k, v in b.bundles.items()}
    # non-head bundles of an index image have NULL csv; heads keep theirs
    assert b.bundles[("linear-operator", "linear-operator.v1.0.0")].csv is None
    assert b.bundles[("linear-operator", "linear-operator.v1.2.0")].csv is not None
    # the legacy (4.4 appregistry) db has no bundle images but every CSV
    assert all(not x.image and x.csv for x in c.bundles.values())


def test_value_bug_marks_and_recovery_from_the_csv() -> None:
    for cat in (_fbc(), _sqlite(), _sqlite(True)):
        head = cat.bundles[("valuebug-operator", "valuebug-operator.v0.5.0")]
        assert head.empty_related == 3
        assert not set(UP.value_images) & set(head.related)
        got = operators.bundle_images(None, head)
        assert set(UP.value_images) <= set(got.related)
        assert set(got.recovered) == set(UP.value_images)
    # the non-head bundle of the index image has no CSV: the bundle image must be read (needs a registry)
    old = _sqlite().bundles[("valuebug-operator", "valuebug-operator.v0.4.2")]
    assert old.csv is None and old.empty_related == 1


def test_related_from_csv_accepts_value_and_drops_empty() -> None:
    csv = {"spec": {"relatedImages": [{"name": "a", "image": "x.io/a:1"}, {"name": "b", "value": "x.io/b:1"},
                                      {"name": "c", "image": ""}, {"name": "d"}, "junk"]}}
    assert related_from_csv(csv) == (["x.io/a:1", "x.io/b:1"], 1)
    assert related_from_csv(None) == ([], 0)


def test_unknown_package_channel_version_are_errors_listing_what_exists() -> None:
    cat = _fbc()
    with pytest.raises(ConfigError) as e1:
        select(cat, CatalogSpec(CAT, packages=[PackageSpec("nope-operator")]))
    assert "nope-operator" in str(e1.value) and "linear-operator" in str(e1.value) and "other-operator" in str(e1.value)
    with pytest.raises(ConfigError) as e2:
        select(cat, CatalogSpec(CAT, packages=[PackageSpec("multichannel-operator", [ChannelSpec("beta")])]))
    assert "'beta'" in str(e2.value) and "fast" in str(e2.value) and "stable" in str(e2.value)
    with pytest.raises(ConfigError) as e3:
        select(cat, CatalogSpec(CAT, packages=[PackageSpec("linear-operator", min_version="7.0.0")]))
    assert "linear-operator" in str(e3.value) and "1.0.0, 1.1.0, 1.2.0" in str(e3.value)
    with pytest.raises(ConfigError, match="not a semantic version"):
        select(cat, CatalogSpec(CAT, packages=[PackageSpec("linear-operator", min_version="banana")]))
    # full: true with a range only reaches the filter from a v1alpha2 configuration: v1 carries the range
    ranged = select(cat, CatalogSpec(CAT, full=True, packages=[PackageSpec("linear-operator", min_version="1.1.0")]))
    assert ranged.bundles == {("linear-operator", "linear-operator.v1.1.0"), ("linear-operator", "linear-operator.v1.2.0")}


def test_default_channel_dropped_picks_the_selected_one_with_a_warning() -> None:
    sel = select(_fbc(), CatalogSpec(CAT, packages=[PackageSpec("multichannel-operator", [ChannelSpec("fast")])]))
    assert sel.default_channels == {"multichannel-operator": "fast"}
    assert any("default channel 'stable'" in w for w in sel.warnings)


def test_head_and_cycle_detection() -> None:
    ch = Channel("c", "p", [Entry("a"), Entry("b", "a"), Entry("c", "a")])
    with pytest.raises(BundlerError, match="multiple channel heads"):
        channel_head(ch)
    with pytest.raises(BundlerError, match="no channel head|cycle"):
        channel_head(Channel("c", "p", [Entry("a", "b"), Entry("b", "a")]))
    # skipRange is not an edge
    assert channel_head(Channel("c", "p", [Entry("a"), Entry("b", "a", skip_range=">=0.0.0 <9.0.0")])) == "b"


def test_range_warns_about_out_of_range_bundles_on_the_path() -> None:
    # c (3.0) replaces b (1.5, out of range) replaces a (1.2): range >=1.0 <=1.2 -> keep a only? No:
    # the head with the most in-range below it is the lowest such node: a.
    ch = Channel("c", "p", [Entry("a"), Entry("b", "a"), Entry("c", "b")])
    versions = {"a": parse_version("1.2.0"), "b": parse_version("1.5.0"), "c": parse_version("3.0.0")}
    assert filter_by_range(ch, VersionRange(parse_version("1.0.0"), parse_version("1.2.0")), versions) == {"a"}
    warnings: list[str] = []
    # >=1.2 <=3.0 with b out of range would still be inside; make b unversioned
    versions["b"] = None
    assert filter_by_range(ch, VersionRange(parse_version("1.2.0"), None), versions, warnings) == {"a", "b", "c"}
    assert any("unversioned" in w for w in warnings)


def test_versions_follow_masterminds() -> None:
    r = VersionRange(parse_version("1.0.0"), None)
    assert r.check(parse_version("1.0.0")) and r.check(parse_version("v2.3"))
    assert not r.check(parse_version("1.5.0-rc.1"))  # prerelease needs a prerelease bound
    assert VersionRange(parse_version("1.5.0-rc.0"), None).check(parse_version("1.5.0-rc.1"))
    assert parse_version("1.2.3-rc.1") < parse_version("1.2.3")  # type: ignore[operator]
    assert parse_version("not-a-version") is None


def test_fbc_reader_json_stream_yaml_any_name_indexignore() -> None:
    files = {
        "configs/a/catalog.json": b'{"schema":"olm.package","name":"a","defaultChannel":"s"}\n'
                                  b'{"schema":"olm.channel","package":"a","name":"s","entries":[{"name":"a.v1"}]}',
        "configs/a/bundles": b"---\nschema: olm.bundle\nname: a.v1\npackage: a\nimage: x.io/a@sha256:" + b"1" * 64 +
                             b"\nproperties:\n- {type: olm.package, value: {packageName: a, version: 1.0.0}}\n"
                             b"relatedImages:\n- {name: op, image: x.io/op:1}\n- {name: '', image: ''}\n",
        "configs/a/notes.txt": b"not json { at all",
        "configs/a/.indexignore": b"*.txt\n",
        "configs/skip/data.json": b"{broken",
        "configs/.indexignore": b"/skip/\n",
        "other/ignored.json": b'{"schema": "olm.package", "name": "zzz"}',
    }
    cat = fbc.parse(fbc.load_objects(files, "configs"))
    assert list(cat.packages) == ["a"]
    b = cat.bundles[("a", "a.v1")]
    assert b.related == ["x.io/op:1"] and b.empty_related == 1 and b.version == "1.0.0"
    with pytest.raises(BundlerError, match="without a schema"):
        fbc.load_objects({"configs/x.json": b'{"name": "x"}'}, "configs")
    assert decode_objects('{"a":1}{"b":2}\n {"c":3}') == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert decode_objects("a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]


def test_fbc_filtered_objects_keep_only_selection() -> None:
    cat = _fbc()
    sel = select(cat, CatalogSpec(CAT, packages=[PackageSpec("skipping-operator", min_version="2.1.0")]))
    out = fbc.filtered_objects(cat, sel.channels, sel.default_channels)
    assert list(out) == ["skipping-operator/catalog.json"]
    docs = out["skipping-operator/catalog.json"]
    bundles = {d["name"] for d in docs if d["schema"] == "olm.bundle"}
    assert bundles == {"skipping-operator.v2.1.0", "skipping-operator.v2.2.0", "skipping-operator.v2.3.0"}
    chan = next(d for d in docs if d["schema"] == "olm.channel")
    assert {e["name"] for e in chan["entries"]} == bundles
    dep = next(d for d in docs if d["schema"] == "olm.deprecations")
    assert [e["reference"]["schema"] for e in dep["entries"]] == ["olm.package"]  # 2.0.0's entry dropped
    # the rendered stream parses back into the same selection
    again = fbc.parse(fbc.load_objects({"configs/" + k: fbc.render_json_stream(v) for k, v in out.items()}, "configs"))
    assert {n for _, n in again.bundles} == bundles


@pytest.mark.parametrize("legacy", [False, True])
def test_sqlite_prune_keeps_only_selected_packages(legacy: bool, tmp_path: Path) -> None:
    data = build_sqlite(UP, legacy=legacy)
    pruned = sqlite.prune(data, {"valuebug-operator", "linear-operator"})
    cat = sqlite.parse(pruned)
    assert sorted(cat.packages) == ["linear-operator", "valuebug-operator"]
    assert {p for p, _ in cat.bundles} == {"linear-operator", "valuebug-operator"}
    db = tmp_path / "p.db"
    db.write_bytes(pruned)
    conn = sqlite3.connect(db)
    try:
        names = {r[0] for r in conn.execute("SELECT DISTINCT operatorbundle_name FROM related_image")}
        assert all(n.startswith(("linear", "valuebug")) for n in names)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not legacy:
            assert conn.execute("SELECT count(*) FROM deprecated").fetchone()[0] == 0
            provided = {r[0] for r in conn.execute("SELECT operatorbundle_name FROM api_provider")}
            assert provided and all(n.startswith(("linear", "valuebug")) for n in provided)
    finally:
        conn.close()
    assert len(pruned) < len(data)
    with pytest.raises(BundlerError, match="not an SQLite"):
        sqlite.parse(b"hello")


def test_sqlite_reader_checks_columns_and_falls_back_to_channel_entries(tmp_path: Path) -> None:
    db = tmp_path / "min.db"
    conn = sqlite3.connect(db)
    conn.executescript("""
      CREATE TABLE operatorbundle (name TEXT PRIMARY KEY, csv TEXT, bundle TEXT);
      CREATE TABLE package (name TEXT PRIMARY KEY, default_channel TEXT);
      CREATE TABLE channel (name TEXT, package_name TEXT, head_operatorbundle_name TEXT);
      CREATE TABLE channel_entry (entry_id INTEGER PRIMARY KEY, channel_name TEXT, package_name TEXT,
        operatorbundle_name TEXT, replaces INTEGER, depth INTEGER);
      INSERT INTO operatorbundle VALUES ('p.v2', NULL, NULL), ('p.v1', NULL, NULL);
      INSERT INTO package VALUES ('p', 'c');
      INSERT INTO channel VALUES ('c', 'p', 'p.v2');
      INSERT INTO channel_entry VALUES (1, 'c', 'p', 'p.v2', 2, 0), (2, 'c', 'p', 'p.v1', NULL, 1);
    """)
    conn.commit()
    conn.close()
    cat = sqlite.parse(db.read_bytes())
    ch = cat.packages["p"].channels["c"]
    assert channel_head(ch) == "p.v2" and ch.entry("p.v2").replaces == "p.v1"  # type: ignore[union-attr]


def test_database_and_configs_labels() -> None:
    assert sqlite.database_path({}) == "bundles.db"
    assert sqlite.database_path({sqlite.DATABASE_LABEL: "/database/index.db"}) == "database/index.db"
    assert fbc.configs_dir({fbc.CONFIGS_LABEL: "/configs"}) == "configs"
    assert fbc.configs_dir({}) is None


def test_catalog_names_and_outputs(tmp_path: Path) -> None:
    assert operators.catalog_name(CatalogSpec(parse("registry.redhat.io/redhat/redhat-operator-index:v4.10"))) == \
        "redhat-operator-index"
    assert operators.catalog_name(CatalogSpec(CAT, target_name="my/Custom.Catalog")) == "custom-catalog"
    digest = "sha256:" + "ab" * 32
    meta = {"extra": {"operators": [{"catalog": str(CAT), "name": "index", "repository": CAT.name,
                                     "displayName": "Index V4.14", "digest": digest}]}}
    img = MirroredImage("catalog", CAT, digest, "mirror.example:5000/catalogs/index", ["v4.14"],
                        rebuilt_from="sha256:" + "cd" * 32)
    octx = OutputContext(outdir=tmp_path, registry="mirror.example:5000", images=[img], records=meta["extra"])
    operators.render_outputs(octx)
    cs = yaml.safe_load((tmp_path / "catalogSource-index.yaml").read_text())
    assert cs["kind"] == "CatalogSource" and cs["metadata"]["namespace"] == "openshift-marketplace"
    assert cs["spec"] == {"sourceType": "grpc", "image": f"mirror.example:5000/catalogs/index@{digest}",
                          "displayName": "Index V4.14", "publisher": "bundler"}
    cc = yaml.safe_load((tmp_path / "clusterCatalog-index.yaml").read_text())
    assert cc["apiVersion"] == "olm.operatorframework.io/v1" and cc["kind"] == "ClusterCatalog"
    assert cc["spec"]["source"] == {"type": "Image", "image": {"ref": f"mirror.example:5000/catalogs/index@{digest}"}}


def test_model_helpers() -> None:
    b = Bundle("n", "p", version="1.0.0")
    cat = Catalog("fbc", "/configs", {"p": Package("p", "c", {"c": Channel("c", "p", [Entry("n")])})}, {("p", "n"): b})
    assert cat.bundle("p", "n") is b
    assert json.loads(json.dumps(str(VersionRange(parse_version("1.0.0"), parse_version("2.0.0"))))) == ">=1.0.0 <=2.0.0"
