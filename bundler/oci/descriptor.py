"""Descriptors: what a manifest says about a blob or a child manifest, typed once at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Platform:
    architecture: str
    os: str = "linux"
    variant: str | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | None) -> Platform | None:
        if not doc:
            return None
        return cls(str(doc.get("architecture", "")), str(doc.get("os", "linux")),
                   str(doc["variant"]) if doc.get("variant") else None)

    def to_json(self) -> dict[str, str]:
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


@dataclass(frozen=True)
class Descriptor:
    """A content-addressed pointer. ``size`` is -1 when the document did not say (it must, per spec)."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Descriptor:
        return cls(
            media_type=str(doc.get("mediaType", "")),
            digest=str(doc["digest"]),
            size=int(doc.get("size", -1)),
            platform=Platform.from_json(doc.get("platform")),
            annotations=dict(doc.get("annotations") or {}),
            urls=tuple(doc.get("urls") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            out["platform"] = self.platform.to_json()
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.urls:
            out["urls"] = list(self.urls)
        return out

    @property
    def foreign(self) -> bool:
        """A layer to be fetched from its ``urls`` (Windows base layers), never carried."""
        return bool(self.urls) and "foreign" in self.media_type
