"""Semantic versions ordered exactly as oc-mirror orders release versions (github.com/blang/semver/v4).

The update graph names releases by SemVer 2.0 (``4.14.1``, ``4.14.0-rc.3``, ``4.18.0-okd-scos.8``).
Ordering decides the channel head, a range's bounds and the tie-break of the upgrade path, so it follows
blang's rules: numeric pre-release identifiers compare as numbers and sort before alphanumeric ones, a
release sorts after its pre-releases, and build metadata (``+amd64``) is ignored for order and equality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

from ...errors import ConfigError

_NUM = r"(0|[1-9][0-9]*)"
_IDENT = r"[0-9A-Za-z-]+"
_SEMVER = re.compile(
    rf"^{_NUM}\.{_NUM}\.{_NUM}(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+({_IDENT}(?:\.{_IDENT})*))?$"
)


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A parsed SemVer 2.0 version; ``text`` keeps the spelling it was parsed from."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    def _key(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key() and self.pre == other.pre

    def __hash__(self) -> int:
        return hash((self._key(), self.pre))

    def __lt__(self, other: Version) -> bool:
        if self._key() != other._key():
            return self._key() < other._key()
        return _pre_lt(self.pre, other.pre)

    def __str__(self) -> str:
        return self.text or self.canonical()

    def canonical(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            s += "-" + ".".join(self.pre)
        if self.build:
            s += "+" + ".".join(self.build)
        return s


def _pre_lt(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """SemVer 2.0 §11: no pre-release > any pre-release; identifiers compared left to right."""
    if not a or not b:
        return bool(a) and not b
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        xn, yn = x.isdigit(), y.isdigit()
        if xn and yn:
            return int(x) < int(y)
        if xn != yn:
            return xn  # numeric identifiers have lower precedence than alphanumeric ones
        return x < y
    return len(a) < len(b)


def parse_version(text: str, what: str = "version") -> Version:
    """Parse strictly (blang ``semver.Parse``): ``4.14`` or ``v4.14.1`` are errors naming ``what``."""
    s = str(text).strip()
    m = _SEMVER.match(s)
    if not m:
        raise ConfigError(f"{what} {text!r} is not a semantic version",
                          "write it as MAJOR.MINOR.PATCH, for example 4.14.1 or 4.14.0-rc.3")
    major, minor, patch, pre, build = m.groups()
    pre_ids = tuple(pre.split(".")) if pre else ()
    for ident in pre_ids:
        if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
            raise ConfigError(f"{what} {text!r}: pre-release identifier {ident!r} has a leading zero")
    return Version(int(major), int(minor), int(patch), pre_ids, tuple(build.split(".")) if build else (), s)


def channel_minor(channel: str) -> tuple[str, Version]:
    """(prefix, MAJOR.MINOR.0) of a channel name such as ``stable-4.14`` (oc-mirror's
    ``getSemverFromChannels``: the text after the last ``-`` plus ``.0``)."""
    prefix, dash, tail = channel.rpartition("-")
    if not dash:
        raise ConfigError(f"release channel {channel!r} has no -MAJOR.MINOR suffix",
                          "channels used across minors are named like stable-4.14 or eus-4.16")
    return prefix, parse_version(f"{tail}.0", f"release channel {channel!r} minor")
