"""One in-memory model for both catalog formats: packages, channels (entries with replaces/skips),
bundles (image, version, related images, CSV when the catalog carries it)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

FORMAT_FBC = "fbc"
FORMAT_SQLITE = "sqlite"


@dataclass
class Entry:
    """One channel entry: a bundle name and the upgrade edges leaving it."""

    name: str
    replaces: str | None = None
    skips: list[str] = field(default_factory=list)
    skip_range: str | None = None


@dataclass
class Channel:
    name: str
    package: str
    entries: list[Entry] = field(default_factory=list)

    def entry(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.name == name), None)


@dataclass
class Bundle:
    name: str
    package: str
    image: str = ""
    version: str | None = None
    related: list[str] = field(default_factory=list)
    empty_related: int = 0
    """How many relatedImages entries had no image: the mark of the 2020 ``value:`` bug."""
    csv: dict[str, Any] | None = None
    properties: list[dict[str, Any]] = field(default_factory=list)
    """``olm.gvk``, ``olm.gvk.required``, ``olm.package.required`` ... (FBC properties; for SQLite from the
    properties, dependencies and api tables): what dependency resolution reads."""


@dataclass
class Package:
    name: str
    default_channel: str = ""
    channels: dict[str, Channel] = field(default_factory=dict)


@dataclass
class Catalog:
    format: str
    location: str
    """Where the catalog lives inside the image: the configs directory or the database file."""
    packages: dict[str, Package] = field(default_factory=dict)
    bundles: dict[tuple[str, str], Bundle] = field(default_factory=dict)
    fbc_objects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """FBC only: every decoded object with the file it came from (relative to the configs dir)."""
    db: bytes = b""
    """SQLite only: the database file."""

    def bundle(self, package: str, name: str) -> Bundle | None:
        return self.bundles.get((package, name))


# -- CSV helpers --------------------------------------------------------------------------------

def related_from_csv(csv: dict[str, Any] | None) -> tuple[list[str], int]:
    """Images named by a CSV's ``spec.relatedImages``, accepting the 2020 ``value:`` alias for
    ``image:``; returns (images, how many entries used ``value``)."""
    if not isinstance(csv, dict):
        return [], 0
    spec = csv.get("spec") or {}
    out: list[str] = []
    aliased = 0
    for item in spec.get("relatedImages") or []:
        if not isinstance(item, dict):
            continue
        image = item.get("image")
        if not image and item.get("value"):
            image = item.get("value")
            aliased += 1
        if isinstance(image, str) and image.strip():
            out.append(image.strip())
    return out, aliased


def decode_objects(text: str) -> list[Any]:
    """Objects of a JSON stream (concatenated objects) or of a multi-document YAML file."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        dec = json.JSONDecoder()
        out: list[Any] = []
        i = 0
        n = len(stripped)
        while i < n:
            while i < n and stripped[i] in " \t\r\n":
                i += 1
            if i >= n:
                break
            obj, i = dec.raw_decode(stripped, i)
            out.append(obj)
        return out
    return [d for d in yaml.safe_load_all(text) if d is not None]


def csv_from_manifests(blob: str | bytes | None) -> dict[str, Any] | None:
    """The ClusterServiceVersion among concatenated manifests (the SQLite ``bundle`` column) or a
    single CSV document; None when there is none or it does not parse."""
    if not blob:
        return None
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    try:
        docs = decode_objects(text)
    except (ValueError, yaml.YAMLError):
        return None
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "ClusterServiceVersion":
            return doc
    return None


# -- versions (Masterminds-style semver, lenient like NewVersion) --------------------------------

_SEMVER = re.compile(
    r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$"
)


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    text: str = ""

    def _key(self) -> tuple[Any, ...]:
        # A release sorts after its prereleases; numeric identifiers sort before alphanumeric.
        pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre_key)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Version) -> bool:
        return self._key() <= other._key()

    def same(self, other: Version) -> bool:
        return self._key() == other._key()

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}.{self.patch}"


def parse_version(text: str | None) -> Version | None:
    if not text:
        return None
    m = _SEMVER.match(str(text).strip())
    if not m:
        return None
    pre = tuple(m.group(4).split(".")) if m.group(4) else ()
    return Version(int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), pre, str(text).strip())


@dataclass(frozen=True)
class VersionRange:
    """``>=min <=max`` as oc-mirror builds it; a prerelease version only satisfies a bound that
    itself has a prerelease (Masterminds semver v3 rule)."""

    min: Version | None = None
    max: Version | None = None

    def check(self, v: Version | None) -> bool:
        if v is None:
            return False
        for bound in (self.min, self.max):
            if bound is not None and v.pre and not bound.pre:
                return False
        if self.min is not None and v < self.min:
            return False
        if self.max is not None and not v <= self.max:
            return False
        return True

    @property
    def specific(self) -> Version | None:
        """min == max: one exact version (OCPBUGS-61497 behaviour)."""
        if self.min is not None and self.max is not None and self.min.same(self.max):
            return self.min
        return None

    def __str__(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">={self.min}")
        if self.max is not None:
            parts.append(f"<={self.max}")
        return " ".join(parts)
