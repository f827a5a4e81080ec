"""Image references (``host[:port]/path[:tag][@digest]``), the repository they name, and the pinned kind.

A :class:`Pinned` reference always carries a digest and never a tag: whatever is copied is pinned by its
type, not by a convention at every call site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import ConfigError

DOCKER_HUB = "docker.io"
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, order=True)
class Repository:
    """``registry/path``: where images of one name live."""

    registry: str
    path: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.path}"

    def pinned(self, digest: str) -> Pinned:
        return Pinned(self.registry, self.path, None, digest)

    def tagged(self, tag: str) -> Reference:
        return Reference(self.registry, self.path, tag)


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

    @property
    def repo(self) -> Repository:
        return Repository(self.registry, self.repository)

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=digest)

    def pin(self, digest: str) -> Pinned:
        """This image's repository at ``digest`` (the tag is dropped: what is copied is the digest)."""
        return Pinned(self.registry, self.repository, None, digest)

    def by_digest(self) -> Pinned:
        """The same image referenced by digest only."""
        if not self.digest:
            raise ValueError(f"{self} has no digest")
        return self.pin(self.digest)

    def with_tag(self, tag: str | None) -> Reference:
        return replace(self, tag=tag)

    def __str__(self) -> str:
        s = self.name
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


@dataclass(frozen=True, order=True)
class Pinned(Reference):
    """A reference by digest only."""

    def __post_init__(self) -> None:
        if not self.digest or self.tag is not None:
            raise ValueError(f"a pinned reference needs a digest and no tag: {self.name}:{self.tag}@{self.digest}")

    @property
    def ref(self) -> str:
        assert self.digest
        return self.digest


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
