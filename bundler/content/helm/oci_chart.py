"""A chart archive as an OCI artifact, laid out byte-for-byte as ``helm push`` does (helm
``pkg/registry/client.go`` Push, ``chart.go``), and read back as ``helm pull`` accepts it.

Pure functions: the caller pushes ``blobs`` and ``manifest`` with its registry client under
``repository:tag`` (``oci://HOST/PATH`` + chart name, tag = version with ``+`` as ``_``).
One difference: ``helm push`` stamps ``org.opencontainers.image.created`` with the current time; here it
defaults to the modification time of Chart.yaml inside the archive, so pushing the same archive twice
gives the same manifest digest.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from .chart import Chart, Dependency, load_archive, meta_str, sanitize
from .errors import ChartError, HelmError

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"
CHART_LAYER_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
LEGACY_CHART_LAYER_MEDIA_TYPE = "application/tar+gzip"
PROV_LAYER_MEDIA_TYPE = "application/vnd.cncf.helm.chart.provenance.v1.prov"
_IMMUTABLE = ("org.opencontainers.image.version", "org.opencontainers.image.title")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def go_json(v: Any) -> bytes:
    """encoding/json.Marshal: compact, map keys sorted, ``<>&`` and U+2028/9 escaped."""
    text = json.dumps(v, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text.encode()


def _sorted(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _sorted(v[k]) for k in sorted(v, key=str)}
    if isinstance(v, list):
        return [_sorted(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def config_document(meta: dict[str, Any]) -> dict[str, Any]:
    """helm's ``chart.Metadata`` as ``json.Marshal`` writes it: Go field order, ``omitempty``."""
    out: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value not in (None, "", [], {}, False):
            out[key] = value

    strings = [sanitize(meta_str(x)) for x in meta.get("sources") or []] if isinstance(meta.get("sources"), list) else []
    put("name", meta_str(meta.get("name")))
    put("home", meta_str(meta.get("home")))
    put("sources", strings)
    put("version", meta_str(meta.get("version")))
    put("description", meta_str(meta.get("description")))
    kw = meta.get("keywords")
    put("keywords", [sanitize(meta_str(x)) for x in kw] if isinstance(kw, list) else [])
    ms = meta.get("maintainers")
    put("maintainers", [{k: sanitize(meta_str(m.get(k))) for k in ("name", "email", "url") if meta_str(m.get(k))}
                        for m in ms if isinstance(m, dict)] if isinstance(ms, list) else [])
    for key in ("icon", "apiVersion", "condition", "tags", "appVersion"):
        put(key, meta_str(meta.get(key)))
    put("deprecated", meta.get("deprecated") is True)
    ann = meta.get("annotations")
    put("annotations", {str(k): meta_str(ann[k]) for k in sorted(ann, key=str)} if isinstance(ann, dict) else {})
    put("kubeVersion", meta_str(meta.get("kubeVersion")))
    deps = meta.get("dependencies")
    put("dependencies", [_dependency(Dependency.from_doc(d, "Chart.yaml")) for d in deps]
        if isinstance(deps, list) else [])
    put("type", meta_str(meta.get("type")))
    return out


def _dependency(d: Dependency) -> dict[str, Any]:
    out: dict[str, Any] = {"name": sanitize(d.name)}
    if d.version:
        out["version"] = sanitize(d.version)
    out["repository"] = sanitize(d.repository)
    if d.condition:
        out["condition"] = sanitize(d.condition)
    if d.tags:
        out["tags"] = [sanitize(t) for t in d.tags]
    if d.enabled:
        out["enabled"] = True
    if d.import_values:
        out["import-values"] = _sorted(d.import_values)
    if d.alias:
        out["alias"] = d.alias
    return out


def manifest_annotations(meta: dict[str, Any], created: str) -> dict[str, str]:
    """``generateOCIAnnotations``: OCI keys from Chart.yaml, then the chart's own annotations."""
    out: dict[str, str] = {}

    def put(key: str, value: str) -> None:
        if value.strip():
            out[key] = value

    put("org.opencontainers.image.description", meta_str(meta.get("description")))
    put("org.opencontainers.image.title", meta_str(meta.get("name")))
    put("org.opencontainers.image.version", meta_str(meta.get("version")))
    put("org.opencontainers.image.url", meta_str(meta.get("home")))
    put("org.opencontainers.image.created", created)
    sources = meta.get("sources")
    if isinstance(sources, list) and sources:
        put("org.opencontainers.image.source", meta_str(sources[0]))
    ms = [m for m in meta.get("maintainers") or [] if isinstance(m, dict)]
    if ms:
        put("org.opencontainers.image.authors", ", ".join(
            meta_str(m.get("name")) + (f" ({meta_str(m.get('email'))})" if m.get("email") else "") for m in ms))
    ann = meta.get("annotations")
    for k, v in (ann.items() if isinstance(ann, dict) else []):
        if str(k) not in _IMMUTABLE:
            out[str(k)] = meta_str(v)
    return {k: out[k] for k in sorted(out)}


def oci_tag(version: str) -> str:
    """The tag ``helm push`` uses for a chart version (``+`` is not allowed in tags: ``_``)."""
    return version.replace("+", "_")


def select_tag(tags: list[str], version: str = "") -> str:
    """helm ``GetTagMatchingVersionOrConstraint`` over a repository's tags: the exact tag (``+`` written
    as ``_``) first, else the newest semver tag matching ``version`` (``""`` = newest stable)."""
    from .semver import Constraint, SemverError, is_version, parse_version
    if version and oci_tag(version) in tags:
        return oci_tag(version)
    try:
        constraint = Constraint(version or "*")
    except SemverError as exc:
        raise HelmError(f"chart version {version!r} is neither a tag nor a semver constraint ({exc})") from exc
    candidates = sorted((t for t in tags if is_version(t.replace("_", "+"))),
                        key=lambda t: parse_version(t.replace("_", "+")), reverse=True)
    for t in candidates:
        if constraint.check(parse_version(t.replace("_", "+"))):
            return t
    raise HelmError(f"no chart version matches {version or '(newest stable)'}",
                    f"tags available: {', '.join(candidates[:15]) or 'none'}")


def oci_location(base: str, name: str, version: str) -> tuple[str, str, str]:
    """(registry host, repository, tag) for ``helm push CHART oci://HOST/PATH``."""
    u = urlparse(base if "://" in base else "oci://" + base)
    if u.scheme != "oci" or not u.netloc:
        raise HelmError(f"{base!r} is not an oci://HOST[/PATH] chart location")
    path = u.path.strip("/")
    return u.netloc, f"{path}/{name}" if path else name, oci_tag(version)


def _chart_yaml_mtime(archive: bytes) -> str:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive)), mode="r:") as tar:
        for m in tar:
            if m.isfile() and m.name.split("/", 1)[-1] == "Chart.yaml":
                return dt.datetime.fromtimestamp(int(m.mtime), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class OCIChart:
    name: str
    version: str
    tag: str
    manifest: bytes
    manifest_digest: str
    blobs: dict[str, bytes]         # digest -> bytes: config, chart layer (and provenance)
    config_digest: str
    layer_digest: str


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}


def build_oci_chart(archive: bytes, created: str | None = None, provenance: bytes | None = None,
                    source: str = "chart archive") -> OCIChart:
    """The blobs and manifest ``helm push`` would upload for ``archive``; ChartError if it is not a chart."""
    chart = load_archive(archive, source)
    config = go_json(config_document(chart.metadata))
    layers = [_descriptor(CHART_LAYER_MEDIA_TYPE, archive)]
    blobs = {digest_of(config): config, digest_of(archive): archive}
    if provenance is not None:
        layers.append(_descriptor(PROV_LAYER_MEDIA_TYPE, provenance))
        blobs[digest_of(provenance)] = provenance
    layers.sort(key=lambda d: d["digest"])
    stamp = created or _chart_yaml_mtime(archive)
    manifest = go_json({"schemaVersion": 2, "config": _descriptor(CONFIG_MEDIA_TYPE, config), "layers": layers,
                        "annotations": manifest_annotations(chart.metadata, stamp)})
    return OCIChart(chart.name, chart.version, oci_tag(chart.version), manifest, digest_of(manifest), blobs,
                    digest_of(config), digest_of(archive))


@dataclass(frozen=True)
class PulledChart:
    config: dict[str, Any]
    archive: bytes
    chart: Chart
    provenance: bytes | None


def _blob(get_blob: Callable[[str], bytes], desc: dict[str, Any], where: str) -> bytes:
    data = get_blob(str(desc.get("digest")))
    if digest_of(data) != desc.get("digest") or len(data) != desc.get("size"):
        raise ChartError(f"{where}: blob {desc.get('digest')} does not match its descriptor")
    return data


def parse_oci_chart(manifest: bytes, get_blob: Callable[[str], bytes], where: str = "OCI chart") -> PulledChart:
    """Read a chart artifact back (``helm pull`` rules): Helm config, one chart layer (current or legacy
    media type), optional provenance; digests checked; the archive must hold the chart the config names."""
    try:
        doc = json.loads(manifest)
    except ValueError as exc:
        raise ChartError(f"{where}: the manifest is not JSON") from exc
    config_desc = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config_desc, dict) or config_desc.get("mediaType") != CONFIG_MEDIA_TYPE:
        raise ChartError(f"{where} is not a Helm chart (config media type "
                         f"{config_desc.get('mediaType') if isinstance(config_desc, dict) else None!r})",
                         f"a Helm chart artifact has config media type {CONFIG_MEDIA_TYPE}")
    layers = [d for d in doc.get("layers") or [] if isinstance(d, dict)]
    charts = [d for d in layers if d.get("mediaType") in (CHART_LAYER_MEDIA_TYPE, LEGACY_CHART_LAYER_MEDIA_TYPE)]
    provs = [d for d in layers if d.get("mediaType") == PROV_LAYER_MEDIA_TYPE]
    if len(charts) != 1:
        raise ChartError(f"{where}: expected exactly one chart layer, found {len(charts)}")
    config = json.loads(_blob(get_blob, config_desc, where))
    archive = _blob(get_blob, charts[0], where)
    chart = load_archive(archive, where)
    if (chart.name, chart.version) != (config.get("name"), config.get("version")):
        raise ChartError(f"{where}: config names chart {config.get('name')} {config.get('version')} but the "
                         f"archive holds {chart.label}")
    return PulledChart(config, archive, chart, _blob(get_blob, provs[0], where) if provs else None)
