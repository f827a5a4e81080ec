"""Where each source repository goes in the mirror: ``TARGET[/PREFIX]/<source path>``, colliding sources
kept apart. One policy for import, the Quay bootstrap (which organizations to create) and the outputs."""

from __future__ import annotations

from .errors import ConfigError


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
