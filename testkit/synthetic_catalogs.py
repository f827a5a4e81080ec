"""Synthetic operator catalogs, pushed as real images into a real registry, in both formats.

What ``build_catalog_upstream(client)`` pushes (``<host>`` = the registry):

* operand images ``<host>/ops/<package>-operator:<version>`` (referenced by digest), a multi-arch
  operand ``<host>/ops/multi-operand`` (Docker manifest list amd64/arm64/ppc64le, referenced by the
  list digest), a tag-referenced operand ``<host>/ops/tagged-operand:1.0``, and the three images
  that the 2020 ``value:`` bug hid: ``<host>/rhscl/{redis-32,mysql-57,postgresql-10}-rhel7``;
* bundle images ``<host>/bundles/<package>-bundle:v<version>`` (referenced by digest) carrying
  ``manifests/<package>.v<version>.clusterserviceversion.yaml`` and ``metadata/annotations.yaml``;
* catalogs with the same packages:
  - ``<host>/catalogs/fbc-index:v4.14``: file-based, a Docker manifest list (amd64, arm64), label
    ``operators.operatorframework.io.index.configs.v1=/configs``; files in JSON streams, multi-doc
    YAML and a name without extension, an ``.indexignore`` hiding a non-catalog file, and a stale
    package removed by a whiteout in an upper layer;
  - ``<host>/catalogs/sqlite-index:v4.10``: SQLite at ``/database/index.db`` (label), the real opm
    schema (migrations up to 013), non-head bundles with NULL csv/bundle, ``related_image`` rows
    left empty by ``value:`` entries, channel_entry rows built the way opm's loader builds them;
  - ``<host>/catalogs/appregistry-index:v1``: the 4.4 ``oc adm catalog build`` shape, ``/bundles.db``
    without a label, a migration-005 schema (no replaces/skips columns, no bundlepath).

Packages: ``linear-operator`` (stable: 1.0.0 -> 1.1.0 -> 1.2.0), ``skipping-operator`` (stable:
2.0.0 -> 2.1.0 -> 2.2.0, 2.3.0 replaces 2.1.0 and skips 2.2.0), ``multichannel-operator`` (stable head
3.1.0, fast head 3.2.0), ``valuebug-operator`` (threescale-2.8: 0.4.2 -> 0.5.0, CSVs with ``value:``)
and ``other-operator`` (9.0.0).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from bundler.oci import Manifest
from bundler.registry.client import RegistryClient

from .synthetic import build_layer, platform, push_image, push_index, random_bytes

FBC_REPO = "catalogs/fbc-index"
FBC_TAG = "v4.14"
SQLITE_REPO = "catalogs/sqlite-index"
SQLITE_TAG = "v4.10"
LEGACY_REPO = "catalogs/appregistry-index"
LEGACY_TAG = "v1"
CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
DATABASE_LABEL = "operators.operatorframework.io.index.database.v1"
VALUE_IMAGES = ("rhscl/redis-32-rhel7", "rhscl/mysql-57-rhel7", "rhscl/postgresql-10-rhel7")
ARCHES = ("amd64", "arm64")


@dataclass
class SynBundle:
    package: str
    version: str
    replaces: str | None = None
    skips: list[str] = field(default_factory=list)
    skip_range: str | None = None
    image: str = ""                      # bundle image by digest
    related: list[tuple[str, str, str]] = field(default_factory=list)  # (name, key "image"|"value", ref)

    @property
    def name(self) -> str:
        return f"{self.package}.v{self.version}"

    def csv(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "version": self.version,
            "displayName": self.package,
            "relatedImages": [{"name": n, key: ref} for n, key, ref in self.related],
            "install": {"strategy": "deployment", "spec": {"deployments": []}},
        }
        if self.replaces:
            spec["replaces"] = self.replaces
        if self.skips:
            spec["skips"] = list(self.skips)
        meta: dict[str, Any] = {"name": self.name}
        if self.skip_range:
            meta["annotations"] = {"olm.skipRange": self.skip_range}
        return {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
                "metadata": meta, "spec": spec}

    @property
    def image_related(self) -> list[str]:
        """What opm records in related_image / FBC relatedImages: ``image:`` values, "" for ``value:``."""
        return [ref if key == "image" else "" for _, key, ref in self.related]

    @property
    def all_related(self) -> set[str]:
        return {ref for _, _, ref in self.related}


@dataclass
class SynPackage:
    name: str
    default_channel: str
    channels: dict[str, list[str]]  # channel -> versions, tail first (head last)


@dataclass
class CatalogUpstream:
    registry: str
    packages: dict[str, SynPackage] = field(default_factory=dict)
    bundles: dict[str, SynBundle] = field(default_factory=dict)  # bundle name -> bundle
    catalogs: dict[str, str] = field(default_factory=dict)       # "fbc"|"sqlite"|"legacy" -> ref by tag
    digests: dict[str, str] = field(default_factory=dict)        # ref by tag -> manifest digest
    multi_arch: str = ""                                           # multi-arch operand by list digest
    tagged: str = ""                                               # tag-referenced operand
    value_images: list[str] = field(default_factory=list)          # images only `value:` names

    def bundle(self, package: str, version: str) -> SynBundle:
        return self.bundles[f"{package}.v{version}"]

    def images_of(self, names: set[str]) -> set[str]:
        """Bundle images and related images (as the CSV names them) of the given bundles."""
        out: set[str] = set()
        for n in names:
            b = self.bundles[n]
            out.add(b.image)
            out |= b.all_related
        return out


def _bundles(up_host: str) -> list[SynBundle]:
    def b(pkg: str, ver: str, replaces: str | None = None, skips: list[str] | None = None) -> SynBundle:
        return SynBundle(pkg, ver, f"{pkg}.v{replaces}" if replaces else None,
                         [f"{pkg}.v{s}" for s in skips or []])

    return [
        b("linear-operator", "1.0.0"), b("linear-operator", "1.1.0", "1.0.0"), b("linear-operator", "1.2.0", "1.1.0"),
        b("skipping-operator", "2.0.0"), b("skipping-operator", "2.1.0", "2.0.0"),
        b("skipping-operator", "2.2.0", "2.1.0"), b("skipping-operator", "2.3.0", "2.1.0", ["2.2.0"]),
        b("multichannel-operator", "3.0.0"), b("multichannel-operator", "3.1.0", "3.0.0"),
        b("multichannel-operator", "3.2.0", "3.1.0"),
        b("valuebug-operator", "0.4.2"), b("valuebug-operator", "0.5.0", "0.4.2"),
        b("other-operator", "9.0.0"),
    ]


PACKAGES = [
    SynPackage("linear-operator", "stable", {"stable": ["1.0.0", "1.1.0", "1.2.0"]}),
    SynPackage("skipping-operator", "stable", {"stable": ["2.0.0", "2.1.0", "2.2.0", "2.3.0"]}),
    SynPackage("multichannel-operator", "stable", {"stable": ["3.0.0", "3.1.0"], "fast": ["3.0.0", "3.1.0", "3.2.0"]}),
    SynPackage("valuebug-operator", "threescale-2.8", {"threescale-2.8": ["0.4.2", "0.5.0"]}),
    SynPackage("other-operator", "stable", {"stable": ["9.0.0"]}),
]


def _small(client: RegistryClient, repo: str, tag: str | None, seed: str, arch: str = "amd64",
           labels: dict[str, str] | None = None) -> Manifest:
    return push_image(client, repo, tag, {f"opt/{seed}/payload.bin": random_bytes(seed + arch, 2048)},
                      arch=arch, labels=labels)


def build_catalog_upstream(client: RegistryClient) -> CatalogUpstream:
    host = client.registry
    up = CatalogUpstream(registry=host)
    for p in PACKAGES:
        up.packages[p.name] = p

    # shared operands
    kids = [(_small(client, "ops/multi-operand", None, f"multi-{a}", a), platform(a)) for a in ("amd64", "arm64", "ppc64le")]
    multi = push_index(client, "ops/multi-operand", "1.0", kids)
    up.multi_arch = f"{host}/ops/multi-operand@{multi.digest}"
    tagged = _small(client, "ops/tagged-operand", "1.0", "tagged")
    up.tagged = f"{host}/ops/tagged-operand:1.0"
    up.digests[up.tagged] = tagged.digest
    for repo in VALUE_IMAGES:
        m = _small(client, repo, "latest", repo)
        up.value_images.append(f"{host}/{repo}@{m.digest}")

    for bnd in _bundles(host):
        op = _small(client, f"ops/{bnd.package}", bnd.version, f"{bnd.package}-{bnd.version}")
        bnd.related = [("operator", "image", f"{host}/ops/{bnd.package}@{op.digest}")]
        if bnd.name == "linear-operator.v1.2.0":
            bnd.related += [("multi", "image", up.multi_arch), ("tagged", "image", up.tagged)]
        if bnd.package == "valuebug-operator":
            chosen = up.value_images if bnd.version == "0.5.0" else up.value_images[:1]
            bnd.related += [(ref.split("/")[-1].split("@")[0], "value", ref) for ref in chosen]
        up.bundles[bnd.name] = bnd
    for bnd in up.bundles.values():
        files = {
            f"manifests/{bnd.package}.v{bnd.version}.clusterserviceversion.yaml": yaml.safe_dump(bnd.csv()).encode(),
            "metadata/annotations.yaml": yaml.safe_dump({"annotations": {
                "operators.operatorframework.io.bundle.package.v1": bnd.package,
                "operators.operatorframework.io.bundle.channels.v1": ",".join(
                    c for c, vs in up.packages[bnd.package].channels.items() if bnd.version in vs),
            }}).encode(),
        }
        m = push_image(client, f"bundles/{bnd.package}-bundle", f"v{bnd.version}", files,
                       labels={"operators.operatorframework.io.bundle.package.v1": bnd.package})
        bnd.image = f"{host}/bundles/{bnd.package}-bundle@{m.digest}"

    _push_fbc(client, up)
    _push_sqlite(client, up)
    _push_legacy(client, up)
    return up


def offline_upstream(host: str = "registry.example.com") -> CatalogUpstream:
    """The same packages and references with made-up digests, nothing pushed (for unit tests)."""
    import hashlib

    def fake(name: str) -> str:
        return "sha256:" + hashlib.sha256(name.encode()).hexdigest()

    up = CatalogUpstream(registry=host)
    for p in PACKAGES:
        up.packages[p.name] = p
    up.multi_arch = f"{host}/ops/multi-operand@{fake('multi')}"
    up.tagged = f"{host}/ops/tagged-operand:1.0"
    up.value_images = [f"{host}/{repo}@{fake(repo)}" for repo in VALUE_IMAGES]
    for bnd in _bundles(host):
        bnd.related = [("operator", "image", f"{host}/ops/{bnd.package}@{fake(bnd.name)}")]
        if bnd.name == "linear-operator.v1.2.0":
            bnd.related += [("multi", "image", up.multi_arch), ("tagged", "image", up.tagged)]
        if bnd.package == "valuebug-operator":
            chosen = up.value_images if bnd.version == "0.5.0" else up.value_images[:1]
            bnd.related += [(ref.split("/")[-1].split("@")[0], "value", ref) for ref in chosen]
        bnd.image = f"{host}/bundles/{bnd.package}-bundle@{fake('bundle' + bnd.name)}"
        up.bundles[bnd.name] = bnd
    return up


def fbc_files(up: CatalogUpstream) -> dict[str, bytes]:
    """The catalog files of the FBC image's top layer (paths without a leading slash)."""
    return _fbc_files(up)


# -- file-based catalog ------------------------------------------------------------------------

def fbc_objects(up: CatalogUpstream, package: str, with_objects: bool = True) -> list[dict[str, Any]]:
    p = up.packages[package]
    docs: list[dict[str, Any]] = [{"schema": "olm.package", "name": package, "defaultChannel": p.default_channel,
                                   "description": f"{package} for tests"}]
    for ch, versions in p.channels.items():
        entries = []
        for v in versions:
            b = up.bundle(package, v)
            e: dict[str, Any] = {"name": b.name}
            if b.replaces and b.replaces.split(".v", 1)[1] in versions:
                e["replaces"] = b.replaces
            if b.skips:
                e["skips"] = list(b.skips)
            entries.append(e)
        docs.append({"schema": "olm.channel", "package": package, "name": ch, "entries": entries})
    heads = {vs[-1] for vs in p.channels.values()}
    for v in sorted({v for vs in p.channels.values() for v in vs}):
        b = up.bundle(package, v)
        props: list[dict[str, Any]] = [{"type": "olm.package", "value": {"packageName": package, "version": v}}]
        if with_objects and v in heads:
            props.append({"type": "olm.bundle.object",
                          "value": {"data": base64.b64encode(json.dumps(b.csv()).encode()).decode()}})
        related = [{"name": "", "image": b.image}] + [
            {"name": n, "image": img} for (n, _, _), img in zip(b.related, b.image_related, strict=True)]
        docs.append({"schema": "olm.bundle", "name": b.name, "package": package, "image": b.image,
                     "properties": props, "relatedImages": related})
    if package == "skipping-operator":
        docs.append({"schema": "olm.deprecations", "package": package, "entries": [
            {"reference": {"schema": "olm.bundle", "name": "skipping-operator.v2.0.0"}, "message": "2.0.0 is old"},
            {"reference": {"schema": "olm.package"}, "message": "still supported"},
        ]})
    return docs


def _fbc_files(up: CatalogUpstream) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name in up.packages:
        docs = fbc_objects(up, name)
        if name == "linear-operator":  # a JSON stream, Red Hat's layout
            files[f"configs/{name}/catalog.json"] = "".join(json.dumps(d, indent=2) + "\n" for d in docs).encode()
        elif name == "skipping-operator":  # multi-document YAML
            files[f"configs/{name}/index.yaml"] = yaml.safe_dump_all(docs).encode()
        elif name == "multichannel-operator":  # split over files, one without an extension
            files[f"configs/{name}/package"] = json.dumps(docs[0]).encode()
            files[f"configs/{name}/rest.json"] = "".join(json.dumps(d) for d in docs[1:]).encode()
        else:
            files[f"configs/{name}.json"] = "\n".join(json.dumps(d) for d in docs).encode()
    files["configs/README.md"] = b"# not a catalog file: hidden by .indexignore\n"
    files["configs/.indexignore"] = b"# opm ignores these\n*.md\n"
    return files


def _push_fbc(client: RegistryClient, up: CatalogUpstream) -> None:
    stale = {"configs/stale-operator/catalog.json": json.dumps(
        {"schema": "olm.package", "name": "stale-operator", "defaultChannel": "x"}).encode()}
    kids = []
    for arch in ARCHES:

        base = build_layer({"bin/opm": random_bytes(f"opm-{arch}", 4096)}, "COPY opm /bin/opm")
        old = build_layer(stale, "ADD configs /configs")
        cur = build_layer({**_fbc_files(up), "configs/.wh.stale-operator": b""}, "ADD configs /configs")
        m = push_image(client, FBC_REPO, None, layers=[base, old, cur], arch=arch,
                       labels={CONFIGS_LABEL: "/configs", "io.k8s.display-name": "Synthetic FBC Operators"},
                       cmd=["serve", "/configs", "--cache-dir=/tmp/cache"])
        kids.append((m, platform(arch)))
    index = push_index(client, FBC_REPO, FBC_TAG, kids)
    ref = f"{up.registry}/{FBC_REPO}:{FBC_TAG}"
    up.catalogs["fbc"] = ref
    up.digests[ref] = index.digest


# -- SQLite catalogs --------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE schema_migrations (version bigint NOT NULL, timestamp DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE operatorbundle (name TEXT PRIMARY KEY, csv TEXT, bundle TEXT, bundlepath TEXT, skiprange TEXT,
  version TEXT, replaces TEXT, skips TEXT, substitutesfor TEXT);
CREATE UNIQUE INDEX pk ON operatorbundle(name, version, bundlepath);
CREATE TABLE package (name TEXT PRIMARY KEY, default_channel TEXT,
  FOREIGN KEY(name, default_channel) REFERENCES channel(package_name,name) ON DELETE CASCADE);
CREATE TABLE channel (name TEXT, package_name TEXT, head_operatorbundle_name TEXT, PRIMARY KEY(name, package_name),
  FOREIGN KEY(head_operatorbundle_name) REFERENCES operatorbundle(name) ON DELETE CASCADE);
CREATE TABLE channel_entry (entry_id INTEGER PRIMARY KEY, channel_name TEXT, package_name TEXT,
  operatorbundle_name TEXT, replaces INTEGER, depth INTEGER,
  FOREIGN KEY(replaces) REFERENCES channel_entry(entry_id) DEFERRABLE INITIALLY DEFERRED,
  FOREIGN KEY(channel_name, package_name) REFERENCES channel(name, package_name) ON DELETE CASCADE);
CREATE TABLE api (group_name TEXT, version TEXT, kind TEXT, plural TEXT NOT NULL,
  PRIMARY KEY(group_name, version, kind));
CREATE TABLE api_provider (group_name TEXT, version TEXT, kind TEXT, operatorbundle_name TEXT,
  operatorbundle_version TEXT, operatorbundle_path TEXT,
  FOREIGN KEY(operatorbundle_name, operatorbundle_version, operatorbundle_path)
    REFERENCES operatorbundle(name, version, bundlepath) ON DELETE CASCADE,
  FOREIGN KEY(group_name, version, kind) REFERENCES api(group_name, version, kind) ON DELETE CASCADE);
CREATE TABLE api_requirer (group_name TEXT, version TEXT, kind TEXT, operatorbundle_name TEXT,
  operatorbundle_version TEXT, operatorbundle_path TEXT,
  FOREIGN KEY(operatorbundle_name, operatorbundle_version, operatorbundle_path)
    REFERENCES operatorbundle(name, version, bundlepath) ON DELETE CASCADE,
  FOREIGN KEY(group_name, version, kind) REFERENCES api(group_name, version, kind) ON DELETE CASCADE);
CREATE TABLE related_image (image TEXT, operatorbundle_name TEXT,
  FOREIGN KEY(operatorbundle_name) REFERENCES operatorbundle(name) ON DELETE CASCADE);
CREATE TABLE dependencies (type TEXT, value TEXT, operatorbundle_name TEXT, operatorbundle_version TEXT,
  operatorbundle_path TEXT, FOREIGN KEY(operatorbundle_name, operatorbundle_version, operatorbundle_path)
    REFERENCES operatorbundle(name, version, bundlepath) ON DELETE CASCADE);
CREATE TABLE properties (type TEXT, value TEXT, operatorbundle_name TEXT, operatorbundle_version TEXT,
  operatorbundle_path TEXT, FOREIGN KEY(operatorbundle_name, operatorbundle_version, operatorbundle_path)
    REFERENCES operatorbundle(name, version, bundlepath) ON DELETE CASCADE);
CREATE TABLE deprecated (operatorbundle_name TEXT PRIMARY KEY,
  FOREIGN KEY(operatorbundle_name) REFERENCES operatorbundle(name) ON DELETE CASCADE);
"""

LEGACY_SCHEMA = """
CREATE TABLE schema_migrations (version bigint NOT NULL, timestamp DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE operatorbundle (name TEXT PRIMARY KEY, csv TEXT UNIQUE, bundle TEXT, bundlepath TEXT,
  skiprange TEXT, version TEXT);
CREATE TABLE package (name TEXT PRIMARY KEY, default_channel TEXT);
CREATE TABLE channel (name TEXT, package_name TEXT, head_operatorbundle_name TEXT, PRIMARY KEY(name, package_name));
CREATE TABLE channel_entry (entry_id INTEGER PRIMARY KEY, channel_name TEXT, package_name TEXT,
  operatorbundle_name TEXT, replaces INTEGER, depth INTEGER);
CREATE TABLE api (group_name TEXT, version TEXT, kind TEXT, plural TEXT NOT NULL, PRIMARY KEY(group_name, version, kind));
CREATE TABLE api_provider (group_name TEXT, version TEXT, kind TEXT, channel_entry_id INTEGER);
CREATE TABLE api_requirer (group_name TEXT, version TEXT, kind TEXT, channel_entry_id INTEGER);
CREATE TABLE related_image (image TEXT, operatorbundle_name TEXT);
"""


def build_sqlite(up: CatalogUpstream, legacy: bool = False) -> bytes:
    """An index database as opm's loader leaves it (or as 4.4's appregistry build did with ``legacy``)."""
    fd, path = tempfile.mkstemp(suffix=".db")
    os.close(fd)
    try:
        conn = sqlite3.connect(path)
        conn.executescript(LEGACY_SCHEMA if legacy else SCHEMA)
        conn.executemany("INSERT INTO schema_migrations(version) VALUES (?)",
                         [(v,) for v in range(6 if legacy else 14)])
        for p in up.packages.values():
            heads = {vs[-1] for vs in p.channels.values()}
            for v in sorted({v for vs in p.channels.values() for v in vs}):
                b = up.bundle(p.name, v)
                csv = json.dumps(b.csv())
                keep_csv = legacy or v in heads  # ClearNonHeadBundles: NULL csv/bundle on non-heads
                if legacy:
                    conn.execute("INSERT INTO operatorbundle VALUES (?,?,?,?,?,?)",
                                 (b.name, csv, csv, None, None, v))
                else:
                    conn.execute("INSERT INTO operatorbundle VALUES (?,?,?,?,?,?,?,?,?)",
                                 (b.name, csv if keep_csv else None, csv if keep_csv else None, b.image, None, v,
                                  b.replaces or "", ",".join(b.skips), None))
                    conn.execute("INSERT INTO properties VALUES (?,?,?,?,?)",
                                 ("olm.package", json.dumps({"packageName": p.name, "version": v}), b.name, v, b.image))
                    conn.execute("INSERT INTO api VALUES ('example.com','v1',?,?) ON CONFLICT DO NOTHING",
                                 (p.name.title().replace("-", ""), p.name.replace("-", "") + "s"))
                    conn.execute("INSERT INTO api_provider VALUES ('example.com','v1',?,?,?,?)",
                                 (p.name.title().replace("-", ""), b.name, v, b.image))
                for img in b.image_related:
                    conn.execute("INSERT INTO related_image VALUES (?,?)", (img, b.name))
            conn.execute("INSERT INTO package VALUES (?,?)", (p.name, p.default_channel))
            for ch, versions in p.channels.items():
                head = up.bundle(p.name, versions[-1])
                conn.execute("INSERT INTO channel VALUES (?,?,?)", (ch, p.name, head.name))
                _channel_entries(conn, up, p.name, ch, versions)
        if not legacy:
            conn.execute("INSERT INTO deprecated VALUES ('skipping-operator.v2.0.0')")
        conn.commit()
        conn.close()
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def _channel_entries(conn: sqlite3.Connection, up: CatalogUpstream, pkg: str, ch: str, versions: list[str]) -> None:
    """opm ``addPackageChannels``: walk from the head down the replaces chain; every skip gets a row
    for the skipped name plus a row for the skipper pointing at it."""
    by_name = {up.bundle(pkg, v).name: up.bundle(pkg, v) for v in versions}
    cur = up.bundle(pkg, versions[-1])
    depth = 0
    cur_id = conn.execute("INSERT INTO channel_entry(channel_name, package_name, operatorbundle_name, depth) "
                          "VALUES (?,?,?,?)", (ch, pkg, cur.name, depth)).lastrowid
    while True:
        for skip in cur.skips:
            skip_id = conn.execute("INSERT INTO channel_entry(channel_name, package_name, operatorbundle_name, depth) "
                                   "VALUES (?,?,?,?)", (ch, pkg, skip, depth)).lastrowid
            conn.execute("INSERT INTO channel_entry(channel_name, package_name, operatorbundle_name, replaces, depth) "
                         "VALUES (?,?,?,?,?)", (ch, pkg, cur.name, skip_id, depth))
        if not cur.replaces or cur.replaces not in by_name:
            break
        depth += 1
        nxt = by_name[cur.replaces]
        new_id = conn.execute("INSERT INTO channel_entry(channel_name, package_name, operatorbundle_name, depth) "
                              "VALUES (?,?,?,?)", (ch, pkg, nxt.name, depth)).lastrowid
        conn.execute("UPDATE channel_entry SET replaces=? WHERE entry_id=?", (new_id, cur_id))
        cur, cur_id = nxt, new_id


def _push_sqlite(client: RegistryClient, up: CatalogUpstream) -> None:

    base = build_layer({"bin/opm": random_bytes("opm-amd64", 4096)}, "COPY opm /bin/opm")
    db = build_layer({"database/index.db": build_sqlite(up)}, "ADD index.db /database/index.db")
    m = push_image(client, SQLITE_REPO, SQLITE_TAG, layers=[base, db],
                   labels={DATABASE_LABEL: "/database/index.db"},
                   cmd=["registry", "serve", "--database", "/database/index.db"])
    ref = f"{up.registry}/{SQLITE_REPO}:{SQLITE_TAG}"
    up.catalogs["sqlite"] = ref
    up.digests[ref] = m.digest


def _push_legacy(client: RegistryClient, up: CatalogUpstream) -> None:

    base = build_layer({"bin/registry-server": random_bytes("registry-server", 4096)}, "COPY registry-server")
    db = build_layer({"bundles.db": build_sqlite(up, legacy=True)}, "oc adm catalog build")
    m = push_image(client, LEGACY_REPO, LEGACY_TAG, layers=[base, db], cmd=["--database", "/bundles.db"])
    ref = f"{up.registry}/{LEGACY_REPO}:{LEGACY_TAG}"
    up.catalogs["legacy"] = ref
    up.digests[ref] = m.digest
