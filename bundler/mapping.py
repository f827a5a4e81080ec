"""Where each source repository goes in the mirror: ``TARGET[/PREFIX]/<source path>``, colliding sources
kept apart. One policy for import, mirror, delete, the Quay bootstrap (which organizations to create) and the
outputs; the configuration's overrides (``targetCatalog``, ``targetTag``, ``targetRepo``) and
``--max-nested-paths`` flattening are applied here too (:func:`plan_targets`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import ConfigError
from .oci import Reference
from .records import image_key


def split_target(target: str) -> tuple[str, str]:
    """Split ``HOST[:PORT][/PREFIX]`` into host and prefix (prefix may be empty)."""
    t = target.strip().rstrip("/")
    for scheme in ("https://", "http://", "docker://"):
        if t.startswith(scheme):
            t = t[len(scheme):]
    if not t:
        raise ConfigError("the target registry is empty; pass --registry HOST[:PORT][/PREFIX]")
    host, _, prefix = t.partition("/")
    return host, prefix


def mirror_repositories(sources: list[str], target: str) -> dict[str, str]:
    """Map source repositories (``host/path``) to mirror repositories under ``target``.

    The source path is kept under ``TARGET[/PREFIX]``. When two sources from different hosts would
    land on the same path, each of them is kept apart under a directory named after its host
    (``:`` replaced by ``-``), so nothing is ever overwritten.
    """
    host, prefix = split_target(target)
    base = f"{host}/{prefix}" if prefix else host
    by_path: dict[str, set[str]] = {}
    for src in sources:
        src_host, _, path = src.partition("/")
        by_path.setdefault(path, set()).add(src_host)
    result: dict[str, str] = {}
    for src in sources:
        src_host, _, path = src.partition("/")
        if len(by_path[path]) > 1:
            result[src] = f"{base}/{src_host.replace(':', '-')}/{path}"
        else:
            result[src] = f"{base}/{path}"
    return result


# -- per-image targets: overrides from the configuration, then --max-nested-paths ------------------

OVERRIDING_KINDS = ("catalog", "additional")
"""The kinds whose images the configuration can send elsewhere; an image first planned by another kind (a
related image also listed as an additional image) also keeps its source path, where that kind expects it."""


class Carried(Protocol):
    kind: str
    source: Reference
    digest: str
    tags: list[str]


@dataclass(frozen=True)
class Target:
    """Where one carried image goes: ``repository`` (``host/prefix/path``) and the tags to put there (none:
    the digest tag import gives digest-only images)."""

    repository: str
    tags: tuple[str, ...]
    flattened: bool = False

    @property
    def path(self) -> str:
        """The repository without the host: what a destination's target is."""
        return self.repository.partition("/")[2]


def flatten(path: str, max_nested: int) -> str:
    """oc-mirror's ``--max-nested-paths N``: a path of more than N components keeps the first N-1 and
    joins the rest with ``-`` (``a/b/c/d``, 2 -> ``a/b-c-d``). N=1 joins everything (oc-mirror makes a
    leading ``/`` there, a bug)."""
    parts = path.split("/")
    if max_nested <= 0 or len(parts) <= max_nested:
        return path
    keep = max_nested - 1
    return "/".join([*parts[:keep], "-".join(parts[keep:])])


def _uncollide(flat: dict[str, str]) -> dict[str, str]:
    """Different paths flattened to the same one (``a/b-c`` and ``a-b/c``) would overwrite each other: each
    flattened one gets ``-<8 hex of sha256(original path)>`` on its last component (a path that was not
    flattened keeps its name). A path's name depends only on itself and on whether it collides."""
    by_flat: dict[str, list[str]] = {}
    for original, f in flat.items():
        by_flat.setdefault(f, []).append(original)
    out = dict(flat)
    for f, originals in by_flat.items():
        if len(originals) > 1:
            for original in originals:
                if original != f:
                    out[original] = f"{f}-{hashlib.sha256(original.encode()).hexdigest()[:8]}"
    return out


def _wanted(img: Carried, overrides: dict[str, Any], default_repo: str, base: str) -> list[tuple[str, tuple[str, ...]]]:
    """(repository, tags) pairs for one image before flattening."""
    own = list(img.tags)
    entries = overrides.get(image_key(img.source.name, img.digest)) or []
    out: list[tuple[str, tuple[str, ...]]] = [(f"{base}/{e['repository']}" if e.get("repository") else default_repo,
                                               (e["tag"],) if e.get("tag") else tuple(own))
                                              for e in entries]
    if not out or img.kind not in OVERRIDING_KINDS:
        out.append((default_repo, tuple(own)))
    return list(dict.fromkeys(out))


def plan_targets(images: Sequence[Carried], target: str, overrides: dict[str, Any] | None = None,
                 max_nested: int = 0) -> dict[tuple[str, str], list[Target]]:
    """Every carried image's targets, by (source name, digest): the source path under ``TARGET[/PREFIX]``
    (colliding hosts kept apart, :func:`mirror_repositories`), or where ``overrides`` (the targets record)
    send it; then paths deeper than ``max_nested`` (counting the prefix) flattened, collisions kept apart."""
    host, prefix = split_target(target)
    base = f"{host}/{prefix}" if prefix else host
    mapping = mirror_repositories(sorted({img.source.name for img in images}), target)
    wanted = {(img.source.name, img.digest): _wanted(img, overrides or {}, mapping[img.source.name], base)
              for img in images}
    paths = {_path(repo) for pairs in wanted.values() for repo, _ in pairs}
    flat = _uncollide({p: flatten(p, max_nested) for p in sorted(paths)})
    return {key: [Target(f"{host}/{flat[_path(repo)]}", tags, flat[_path(repo)] != _path(repo)) for repo, tags in pairs]
            for key, pairs in wanted.items()}


def _path(repository: str) -> str:
    return repository.partition("/")[2]
