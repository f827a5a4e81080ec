"""Where images hide in a chart: pod specs of rendered manifests, env values, the
``artifacthub.io/images`` annotation and values-file conventions (``image: {registry, repository,
tag, digest}``, ``global.imageRegistry``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from ...errors import ConfigError
from ...oci.reference import Reference, parse
from .gofmt import go_str
from .yamlutil import load

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
ANNOTATION = "artifacthub.io/images"
_HOST = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|[A-Za-z0-9.-]+:\d+)$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Candidate:
    """A string found where an image may be: ``where`` says in which file/object/field."""

    value: Any
    source: str          # manifest | env | imagePath | annotation | values
    where: str
    path: str = ""       # values path (values candidates only)


def parse_image(text: str) -> tuple[Reference, bool]:
    """(reference, implicit_latest). A bare name means ``:latest`` to Kubernetes, so it is kept as
    such but flagged. ConfigError when the text is not an image reference."""
    ref = parse(text)
    last = text.strip().rsplit("/", 1)[-1]
    implicit = "@" not in text and ":" not in last
    return ref, implicit


def looks_like_image(value: str, hinted: bool) -> bool:
    """An env value taken as an image: an explicit registry host and a tag or digest; or, when the
    variable's name mentions IMAGE, any reference with a path, tag or digest."""
    v = value.strip()
    if not v or any(c.isspace() for c in v) or "://" in v or v.startswith(("/", "-", ".")):
        return False
    try:
        parse_image(v)
    except ConfigError:
        return False
    first, _, rest = v.partition("/")
    tagged = bool(_DIGEST.search(v)) or ":" in v.rsplit("/", 1)[-1].split("@")[0]
    if rest and _HOST.match(first) and tagged:
        return True
    return hinted and ("/" in v or tagged)


def _pod_specs(node: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every mapping shaped like a pod spec (a ``containers`` list of mappings), with its path."""
    if isinstance(node, dict):
        conts = node.get("containers")
        if isinstance(conts, list) and any(isinstance(c, dict) for c in conts):
            yield node, path
        for k, v in node.items():
            if k not in CONTAINER_LISTS:
                yield from _pod_specs(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _pod_specs(v, f"{path}[{i}]")


def manifest_candidates(doc: dict[str, Any], where: str) -> Iterator[Candidate]:
    """Container images (init, regular, ephemeral) of every pod spec in a manifest, and env values
    that are image references."""
    meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    obj = f"{doc.get('kind', '?')}/{meta.get('name', '?')}"
    for spec, path in _pod_specs(doc, ""):
        for list_name in CONTAINER_LISTS:
            items = spec.get(list_name)
            if not isinstance(items, list):
                continue
            for i, c in enumerate(items):
                if not isinstance(c, dict):
                    continue
                label = f"{where}: {obj} {path + '.' if path else ''}{list_name}[{c.get('name', i)}]"
                if "image" in c:
                    yield Candidate(c["image"], "manifest", f"{label}.image")
                yield from _container_extras(c, label)
    yield from _image_fields(doc, f"{where}: {obj}", "")


def _container_extras(c: dict[str, Any], label: str) -> Iterator[Candidate]:
    """Env values and ``--flag=value`` arguments that are image references (operand images)."""
    for env in c.get("env") or []:
        if isinstance(env, dict) and isinstance(env.get("value"), str) and looks_like_image(
                env["value"], "IMAGE" in str(env.get("name", "")).upper()):
            yield Candidate(env["value"], "env", f"{label}.env[{env.get('name')}]")
    for key in ("args", "command"):
        for arg in c.get(key) or []:
            if isinstance(arg, str) and arg.startswith("-") and "=" in arg:
                flag, _, value = arg.partition("=")
                if looks_like_image(value, "image" in flag.lower()):
                    yield Candidate(value, "args", f"{label}.{key}[{flag}]")


def _image_fields(node: Any, label: str, path: str) -> Iterator[Candidate]:
    """Fields named ``image``/``*Image`` anywhere in a manifest (custom resources such as a
    Prometheus CR's ``spec.image``): image strings, or ``{repository, tag|digest}`` maps."""
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f"{path}.{k}" if path else str(k)
            if k in CONTAINER_LISTS and isinstance(v, list):
                continue                                  # read as containers above
            if isinstance(k, str) and k.lower().endswith("image"):
                if isinstance(v, str) and looks_like_image(v, True):
                    yield Candidate(v, "field", f"{label} {sub}")
                    continue
                if isinstance(v, dict) and ("tag" in v or "digest" in v) and (ref := _image_from_map(v, "", "")):
                    yield Candidate(ref, "field", f"{label} {sub}")
                    continue
            yield from _image_fields(v, label, sub)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _image_fields(v, label, f"{path}[{i}]")


def annotation_candidates(annotations: dict[str, str], chart_label: str,
                          warnings: list[str]) -> Iterator[Candidate]:
    """Images listed in Chart.yaml's ``artifacthub.io/images`` (a YAML list of {name, image})."""
    text = annotations.get(ANNOTATION)
    if not text:
        return
    try:
        entries = load(text)
    except yaml.YAMLError as exc:
        warnings.append(f"chart {chart_label}: annotation {ANNOTATION} is not valid YAML: {exc}")
        return
    if not isinstance(entries, list):
        warnings.append(f"chart {chart_label}: annotation {ANNOTATION} is not a list")
        return
    for e in entries:
        if isinstance(e, dict) and e.get("image"):
            yield Candidate(str(e["image"]), "annotation", f"chart {chart_label}: Chart.yaml annotation {ANNOTATION}"
                            f" ({e.get('name', '')})")


def _image_from_map(m: dict[str, Any], registry_override: str, app_version: str) -> str | None:
    repo = m.get("repository")
    if not isinstance(repo, str) or not repo.strip():
        return None
    tag, digest = m.get("tag"), m.get("digest")
    registry = registry_override or (m.get("registry") if isinstance(m.get("registry"), str) else "")
    ref = f"{registry.rstrip('/')}/{repo.strip()}" if registry else repo.strip()
    if isinstance(digest, str) and digest.strip():
        return f"{ref}@{digest.strip()}"
    tag_s = go_str(tag) if tag not in (None, "") else app_version
    if not tag_s and (":" in ref.rsplit("/", 1)[-1] or "@" in ref):
        return ref
    return f"{ref}:{tag_s}" if tag_s else ref


def values_candidates(values: dict[str, Any], chart_label: str, app_version: str,
                      subcharts: dict[str, str], base: str = "", skip: frozenset[str] = frozenset()
                      ) -> Iterator[Candidate]:
    """``image``-like maps and image strings in (coalesced) values; ``global.imageRegistry`` applies.

    ``subcharts`` maps a values path to that subchart's appVersion (a tag left empty usually defaults
    to the owning chart's appVersion); ``base`` is the path of ``values``; top-level keys in ``skip``
    (other charts' sections) are not walked."""
    top = {k: v for k, v in values.items() if k not in skip} if isinstance(values, dict) else values
    yield from _walk_values(top, base, "", app_version, subcharts, chart_label)


def _walk_values(node: Any, path: str, registry: str, app_version: str, subcharts: dict[str, str],
                 label: str) -> Iterator[Candidate]:
    if isinstance(node, dict):
        glob = node.get("global")
        if isinstance(glob, dict) and isinstance(glob.get("imageRegistry"), str) and glob["imageRegistry"]:
            registry = glob["imageRegistry"]
        ref = _image_from_map(node, registry, app_version) if ("tag" in node or "digest" in node) else None
        if ref:
            yield Candidate(ref, "values", f"chart {label}: values {path or '.'}", path)
            return
        for k, v in node.items():
            if k == "global":
                continue
            sub = f"{path}.{k}" if path else str(k)
            av = subcharts.get(sub, app_version)
            if isinstance(v, str) and k.lower().endswith("image") and looks_like_image(v, True):
                yield Candidate(v, "values", f"chart {label}: values {sub}", sub)
            else:
                yield from _walk_values(v, sub, registry, av, subcharts, label)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_values(v, f"{path}[{i}]", registry, app_version, subcharts, label)
