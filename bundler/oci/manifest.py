"""A manifest exactly as a registry served it: the raw bytes (what the digest is of, what is pushed) and a
view parsed once (config, layers, children)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from . import mediatypes
from .descriptor import Descriptor
from .digest import sha256_digest


@dataclass(frozen=True)
class Manifest:
    data: bytes
    media_type: str
    digest: str

    @classmethod
    def from_bytes(cls, data: bytes, header_type: str | None = None) -> Manifest:
        """Detect the media type (document, then header, then shape) and compute the digest."""
        return cls(data, mediatypes.detect_media_type(data, header_type), sha256_digest(data))

    @cached_property
    def doc(self) -> dict[str, Any]:
        return mediatypes.parse_manifest(self.data)

    @property
    def is_list(self) -> bool:
        return mediatypes.is_list(self.media_type)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.data))

    @cached_property
    def children(self) -> list[Descriptor]:
        """A list's child manifests (empty for an image)."""
        return [Descriptor.from_json(d) for d in self.doc.get("manifests") or []] if self.is_list else []

    @cached_property
    def config(self) -> Descriptor | None:
        cfg = self.doc.get("config")
        return Descriptor.from_json(cfg) if cfg else None

    @cached_property
    def layers(self) -> list[Descriptor]:
        return [Descriptor.from_json(d) for d in self.doc.get("layers") or []]

    @cached_property
    def blobs(self) -> list[Descriptor]:
        """The config and layers a copy carries (foreign layers excluded); empty for a list."""
        if self.is_list:
            return []
        return ([self.config] if self.config else []) + [d for d in self.layers if not d.foreign]
