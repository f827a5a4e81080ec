"""File-based catalogs: every regular file under the configs directory (label
``operators.operatorframework.io.index.configs.v1``), JSON streams or multi-document YAML, with
``.indexignore`` honoured (opm ``alpha/declcfg/load.go``)."""

from __future__ import annotations

import base64
import fnmatch
import json
import posixpath
from typing import Any

import yaml

from ...errors import BundlerError
from .model import FORMAT_FBC, Bundle, Catalog, Channel, Entry, Package, decode_objects, related_from_csv

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
INDEXIGNORE = ".indexignore"
KNOWN_SCHEMAS = ("olm.package", "olm.channel", "olm.bundle", "olm.deprecations")


class _Ignore:
    """gitignore-style patterns of one ``.indexignore``, relative to the directory holding it."""

    def __init__(self, base: str, text: str) -> None:
        self.base = base
        self.rules: list[tuple[bool, bool, bool, str]] = []  # (negate, dir_only, anchored, pattern)
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            self.rules.append((negate, dir_only, anchored, line.lstrip("/")))

    def ignored(self, path: str) -> bool:
        """``path`` relative to the catalog root; True when the last matching rule ignores it."""
        if self.base and not path.startswith(self.base + "/"):
            return False
        rel = path[len(self.base) + 1:] if self.base else path
        parts = rel.split("/")
        result = False
        for negate, dir_only, anchored, pat in self.rules:
            hit = False
            # a pattern matches the path itself or any directory above it
            for i in range(1, len(parts) + 1):
                is_dir = i < len(parts)
                if dir_only and not is_dir:
                    continue
                sub = "/".join(parts[:i])
                if anchored:
                    hit = _glob(sub, pat)
                else:
                    hit = fnmatch.fnmatchcase(parts[i - 1], pat)
                if hit:
                    break
            if hit:
                result = not negate
        return result


def _glob(path: str, pat: str) -> bool:
    if "**" in pat:
        return fnmatch.fnmatchcase(path, pat.replace("**/", "*").replace("**", "*"))
    pp, tp = path.split("/"), pat.split("/")
    return len(pp) == len(tp) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(pp, tp, strict=True))


def configs_dir(labels: dict[str, str]) -> str | None:
    value = labels.get(CONFIGS_LABEL)
    return value.strip().strip("/") if value else None


def load_objects(files: dict[str, bytes], root: str) -> list[tuple[str, dict[str, Any]]]:
    """Decode every catalog file under ``root`` (paths as read_files gives them, without a leading
    slash) into (path relative to root, object)."""
    prefix = root.strip("/") + "/" if root.strip("/") else ""
    rel_files = {p[len(prefix):]: data for p, data in files.items() if p.startswith(prefix)}
    ignores = [
        _Ignore(posixpath.dirname(p), data.decode("utf-8", "replace"))
        for p, data in rel_files.items() if posixpath.basename(p) == INDEXIGNORE
    ]
    out: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(rel_files):
        if posixpath.basename(path) == INDEXIGNORE or any(ig.ignored(path) for ig in ignores):
            continue
        text = rel_files[path].decode("utf-8", "replace")
        try:
            docs = decode_objects(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise BundlerError(f"catalog file /{prefix}{path} is neither a JSON stream nor YAML: {exc}") from exc
        for doc in docs:
            if not isinstance(doc, dict):
                raise BundlerError(f"catalog file /{prefix}{path} holds a non-object document")
            schema = _ci(doc, "schema")
            if not schema:
                raise BundlerError(f"catalog file /{prefix}{path} holds an object without a schema")
            out.append((path, doc))
    return out


def _ci(doc: dict[str, Any], key: str) -> Any:
    """opm matches the keys schema/package/name case-insensitively."""
    if key in doc:
        return doc[key]
    for k, v in doc.items():
        if isinstance(k, str) and k.lower() == key:
            return v
    return None


def bundle_csv(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The CSV carried in an ``olm.bundle.object`` (or ``olm.csv.metadata``-less) property."""
    for prop in doc.get("properties") or []:
        if not isinstance(prop, dict) or prop.get("type") != "olm.bundle.object":
            continue
        data = (prop.get("value") or {}).get("data")
        if not data:
            continue
        try:
            obj = json.loads(base64.b64decode(data))
        except (ValueError, TypeError):
            continue
        if isinstance(obj, dict) and obj.get("kind") == "ClusterServiceVersion":
            return obj
    return None


def bundle_version(doc: dict[str, Any]) -> str | None:
    for prop in doc.get("properties") or []:
        if isinstance(prop, dict) and prop.get("type") == "olm.package":
            v = (prop.get("value") or {}).get("version")
            if v:
                return str(v)
    return None


def _bundle(doc: dict[str, Any]) -> Bundle:
    """An ``olm.bundle``: its image, version, related images (empty entries counted: the 2020 bug) and CSV."""
    csv = bundle_csv(doc)
    related: list[str] = []
    empty = 0
    for item in doc.get("relatedImages") or []:
        image = (item or {}).get("image") if isinstance(item, dict) else None
        if not (isinstance(image, str) and image.strip()):
            empty += 1
        elif image.strip() not in related:
            related.append(image.strip())
    if csv is not None:
        empty = max(empty, related_from_csv(csv)[1])
    return Bundle(name=str(_ci(doc, "name") or ""), package=str(_ci(doc, "package") or ""),
                  image=str(doc.get("image") or ""), version=bundle_version(doc), related=related,
                  empty_related=empty, csv=csv,
                  properties=[p for p in doc.get("properties") or [] if isinstance(p, dict) and p.get("type")
                              and p.get("type") != "olm.bundle.object"])


def _channel(doc: dict[str, Any]) -> Channel:
    entries = [Entry(name=str(e.get("name")), replaces=e.get("replaces") or None,
                     skips=[str(s) for s in e.get("skips") or []], skip_range=e.get("skipRange") or None)
               for e in doc.get("entries") or [] if isinstance(e, dict) and e.get("name")]
    return Channel(str(_ci(doc, "name") or ""), str(_ci(doc, "package") or ""), entries)


def parse(objects: list[tuple[str, dict[str, Any]]], location: str = "/configs") -> Catalog:
    """Build the model from decoded FBC objects (channels after packages, whatever the file order)."""
    cat = Catalog(format=FORMAT_FBC, location=location, fbc_objects=objects)
    channels: list[Channel] = []
    for _, doc in objects:
        schema = _ci(doc, "schema")
        if schema == "olm.package":
            name = str(_ci(doc, "name") or "")
            cat.packages.setdefault(name, Package(name)).default_channel = str(doc.get("defaultChannel") or "")
        elif schema == "olm.channel":
            channels.append(_channel(doc))
        elif schema == "olm.bundle":
            b = _bundle(doc)
            cat.bundles[(b.package, b.name)] = b
    for ch in channels:
        cat.packages.setdefault(ch.package, Package(ch.package)).channels[ch.name] = ch
    return cat


def _kept_deprecations(doc: dict[str, Any], pkg: str, channels: dict[str, list[str]],
                       kept_bundles: set[tuple[str, str]]) -> dict[str, Any]:
    """An ``olm.deprecations`` without entries for dropped bundles or channels."""
    entries = []
    for e in doc.get("entries") or []:
        ref = e.get("reference") or {}
        if ref.get("schema") == "olm.bundle" and (pkg, ref.get("name")) not in kept_bundles:
            continue
        if ref.get("schema") == "olm.channel" and ref.get("name") not in channels:
            continue
        entries.append(e)
    return {**doc, "entries": entries}


def _kept(doc: dict[str, Any], pkg: str, channels: dict[str, dict[str, list[str]]], defaults: dict[str, str],
          kept_bundles: set[tuple[str, str]]) -> dict[str, Any] | None:
    """One object as the pruned catalog has it, or None when it is dropped."""
    schema = _ci(doc, "schema")
    if schema == "olm.package":
        return {**doc, "defaultChannel": defaults[pkg]} if defaults.get(pkg) else dict(doc)
    if schema == "olm.channel":
        name = str(_ci(doc, "name"))
        if name not in channels[pkg]:
            return None
        keep = set(channels[pkg][name])
        return {**doc, "entries": [e for e in doc.get("entries") or [] if e.get("name") in keep]}
    if schema == "olm.bundle":
        return doc if (pkg, str(_ci(doc, "name"))) in kept_bundles else None
    if schema == "olm.deprecations":
        return _kept_deprecations(doc, pkg, channels[pkg], kept_bundles)
    return doc


def filtered_objects(cat: Catalog, channels: dict[str, dict[str, list[str]]],
                     defaults: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The pruned catalog as ``{"<package>/catalog.json": [objects]}`` (oc-mirror's layout):
    olm.package with the default channel adjusted, kept channels with kept entries, kept bundles,
    deprecations without entries for dropped bundles or channels, and package-scoped others."""
    out: dict[str, list[dict[str, Any]]] = {}
    kept_bundles = {(p, n) for p, chans in channels.items() for names in chans.values() for n in names}
    for _, doc in cat.fbc_objects:
        schema = _ci(doc, "schema")
        pkg = str(_ci(doc, "name") if schema == "olm.package" else (_ci(doc, "package") or ""))
        if pkg and pkg not in channels:
            continue
        kept = _kept(doc, pkg, channels, defaults, kept_bundles) if pkg else doc
        if kept is not None:
            out.setdefault(f"{pkg}/catalog.json" if pkg else "catalog.json", []).append(kept)
    return out


def render_json_stream(objects: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(o, indent=4) + "\n" for o in objects).encode()
