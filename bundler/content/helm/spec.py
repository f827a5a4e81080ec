"""``mirror.helm`` of an ImageSetConfiguration, as oc-mirror v2 reads it (``v2alpha1.Helm``).

``repositories[]``: ``name``, ``url`` (http(s) index, or ``oci://``), ``charts[]`` (``name``,
``version``, ``imagePaths``, ``platforms``; none listed = every chart and version of the index, as
oc-mirror does); ``local[]``: ``name``, ``path`` (directory or .tgz), ``imagePaths``, ``platforms``.
Errors are ConfigErrors naming the field (``mirror.helm.repositories[0].charts[1].name``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from ...errors import ConfigError
from .jsonpath import JSONPath, JSONPathError


@dataclass
class ChartSpec:
    name: str
    version: str = ""                 # exact, semver constraint, or "" for the newest stable
    image_paths: list[str] = field(default_factory=list)
    platforms: list[Any] = field(default_factory=list)
    path: str = ""                    # local charts only


@dataclass
class RepositorySpec:
    name: str
    url: str
    charts: list[ChartSpec] | None    # None: every chart of the index (oc-mirror's behaviour)

    @property
    def is_oci(self) -> bool:
        return self.url.startswith("oci://")


@dataclass
class HelmSpec:
    repositories: list[RepositorySpec] = field(default_factory=list)
    local: list[ChartSpec] = field(default_factory=list)


def _map(v: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(v).__name__}")
    unknown = sorted(set(v) - keys)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}", f"known fields: {', '.join(sorted(keys))}")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise ConfigError(f"{where}: expected a list, got {type(v).__name__}")
    return v


def _text(v: Any, where: str, required: bool = True) -> str:
    if v is None or v == "":
        if required:
            raise ConfigError(f"{where} is required")
        return ""
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise ConfigError(f"{where}: expected a string, got {v!r}")
    return str(v)


def _image_paths(v: Any, where: str) -> list[str]:
    out = []
    for i, p in enumerate(_list(v, where)):
        text = _text(p, f"{where}[{i}]")
        try:
            JSONPath(text)
        except JSONPathError as exc:
            raise ConfigError(f"{where}[{i}]: {exc}", 'e.g. "{.spec.template.spec.containers[*].env[*].value}"') from exc
        out.append(text)
    return out


def _chart(v: Any, where: str, local: bool) -> ChartSpec:
    keys = {"name", "version", "imagePaths", "platforms"} | ({"path"} if local else set())
    doc = _map(v, where, keys)
    return ChartSpec(name=_text(doc.get("name"), f"{where}.name"),
                     version=_text(doc.get("version"), f"{where}.version", required=False),
                     image_paths=_image_paths(doc.get("imagePaths"), f"{where}.imagePaths"),
                     platforms=_list(doc.get("platforms"), f"{where}.platforms"),
                     path=_text(doc.get("path"), f"{where}.path") if local else "")


def parse_helm(value: Any, where: str = "mirror.helm") -> HelmSpec:
    """The ``mirror.helm`` mapping (None or empty gives an empty spec)."""
    if not value:
        return HelmSpec()
    doc = _map(value, where, {"repositories", "local"})
    spec = HelmSpec()
    for i, r in enumerate(_list(doc.get("repositories"), f"{where}.repositories")):
        rw = f"{where}.repositories[{i}]"
        rdoc = _map(r, rw, {"name", "url", "charts"})
        url = _text(rdoc.get("url"), f"{rw}.url")
        if urlparse(url).scheme not in ("http", "https", "oci"):
            raise ConfigError(f"{rw}.url: {url!r} is not an http(s):// or oci:// chart repository URL")
        charts = None if rdoc.get("charts") is None else [
            _chart(c, f"{rw}.charts[{j}]", local=False) for j, c in enumerate(_list(rdoc["charts"], f"{rw}.charts"))]
        spec.repositories.append(RepositorySpec(_text(rdoc.get("name"), f"{rw}.name"), url, charts))
    for i, c in enumerate(_list(doc.get("local"), f"{where}.local")):
        spec.local.append(_chart(c, f"{where}.local[{i}]", local=True))
    return spec
