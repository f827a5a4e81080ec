"""Image reference grammar (host[:port]/path[:tag][@digest]) and mirror-path mapping."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .errors import ConfigError

DOCKER_HUB = "docker.io"
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, order=True)
class Reference:
    """A parsed image reference. ``tag`` and ``digest`` may both be set."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def ref(self) -> str:
        """What to ask the registry for: the digest if known, else the tag (default ``latest``)."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def by_digest(self) -> Reference:
        """The same image referenced by digest only."""
        if not self.digest:
            raise ValueError(f"{self} has no digest")
        return replace(self, tag=None)

    def with_tag(self, tag: str | None) -> Reference:
        return replace(self, tag=tag)

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def parse(text: str) -> Reference:
    """Parse an image reference; raise ConfigError naming the text when it is not one."""
    s = text.strip()
    if s.startswith("docker://"):
        s = s[len("docker://"):]
    if not s or any(c.isspace() for c in s):
        raise ConfigError(f"not an image reference: {text!r}")
    digest = None
    if "@" in s:
        s, digest = s.split("@", 1)
        if not DIGEST_RE.match(digest):
            raise ConfigError(f"not an image reference: {text!r} (digest must be sha256:<64 hex>)")
    tag = None
    last = s.rsplit("/", 1)[-1]
    if ":" in last:
        s, tag = s.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ConfigError(f"not an image reference: {text!r} (bad tag {tag!r})")
    parts = s.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0], parts[1:]
    else:
        registry, path = DOCKER_HUB, parts
        if len(path) == 1:
            path = ["library", *path]
    if registry == "index.docker.io":
        registry = DOCKER_HUB
    for comp in path:
        if not _PATH_COMPONENT.match(comp):
            raise ConfigError(f"not an image reference: {text!r} (bad path component {comp!r})")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry=registry, repository="/".join(path), tag=tag, digest=digest)


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
