"""YAML the way helm reads and writes it (sigs.k8s.io/yaml on top of go-yaml, through JSON).

* Values: numbers become float64 (JSON numbers), map keys strings, timestamps stay strings.
* ``toYaml``: keys sorted, integral floats printed as integers, no line folding.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

_DROPPED = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
_RESOLVERS = {first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
              for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)     # libyaml when available: 20x faster


class _Loader(_Base):  # type: ignore[misc]
    """Safe loading as go-yaml decodes into interface{}: timestamps and ``=`` stay strings; unknown
    tags (``!Ref``) are read as the plain value they tag."""

    yaml_implicit_resolvers = _RESOLVERS


def _untagged(loader: Any, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _untagged)
_Loader.add_multi_constructor("tag:", _untagged)


def load_all(text: str | bytes) -> list[Any]:
    """Every document of a YAML stream (None for empty ones); raises yaml.YAMLError."""
    return list(yaml.load_all(text, Loader=_Loader))


def load(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_Loader)


def as_values(v: Any) -> Any:
    """Convert parsed YAML into helm's value model: ints -> float, keys -> str."""
    if isinstance(v, dict):
        return {_key(k): as_values(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_values(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def _key(k: Any) -> str:
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    if isinstance(k, float) and k.is_integer():
        return str(int(k))
    return str(k)


def load_values(text: str | bytes) -> dict[str, Any]:
    """helm ``LoadValues``: documents merged in order; each must be a map (or empty). ValueError if not."""
    out: dict[str, Any] = {}
    for doc in load_all(text):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValueError(f"a values document must be a map, not {type(doc).__name__}")
        out = merge_maps(out, as_values(doc))
    return out


def merge_maps(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """helm ``MergeMaps``: b wins, nested maps merged."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _float(dumper: yaml.SafeDumper, f: float) -> yaml.Node:
    if math.isfinite(f) and f.is_integer() and abs(f) < 1e21:
        return dumper.represent_int(int(f))
    return dumper.represent_float(f)


def _fallback(dumper: yaml.SafeDumper, v: Any) -> yaml.Node:
    from .gofmt import go_str
    return dumper.represent_str(go_str(v))


_Dumper.add_representer(float, _float)
_Dumper.add_representer(tuple, lambda d, v: d.represent_list(list(v)))
_Dumper.add_multi_representer(object, _fallback)


def to_yaml(v: Any) -> str:
    """helm ``toYaml``: the YAML of a value without the trailing newline."""
    if v is None:
        return "null"
    text = yaml.dump(v, Dumper=_Dumper, default_flow_style=False, sort_keys=True, allow_unicode=True,
                     width=1 << 30)
    if text.endswith("\n...\n"):
        text = text[:-5]
    return text.rstrip("\n") if not isinstance(v, str) or "\n" not in v else text[:-1]


_DOC_SPLIT = re.compile(r"(?:^|\s*\n)---\s*")


def split_manifests(text: str) -> list[str]:
    """helm ``releaseutil.SplitManifests``: documents separated by ``---`` lines, blanks dropped."""
    return [d for d in _DOC_SPLIT.split(text) if d.strip()]
