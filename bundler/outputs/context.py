"""What renderers get: every mirrored image (source, digest, where it now lives) and each kind's record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..oci import Reference


@dataclass
class MirroredImage:
    """One carried image and where it now lives."""

    kind: str
    source: Reference
    digest: str
    mirror_repo: str
    tags: list[str] = field(default_factory=list)
    label: str = ""
    rebuilt_from: str | None = None

    @property
    def mirror_by_digest(self) -> str:
        return f"{self.mirror_repo}@{self.digest}"

    @property
    def by_tag(self) -> bool:
        return self.source.tag is not None

    @property
    def mirror_ref(self) -> str:
        """The mirror reference in the same form as the source reference (under the mirror's tag when the
        configuration gave another: ``targetTag``)."""
        if not self.source.tag:
            return self.mirror_by_digest
        tag = self.source.tag if self.source.tag in self.tags or not self.tags else self.tags[0]
        return f"{self.mirror_repo}:{tag}"


@dataclass
class OutputContext:
    outdir: Path
    registry: str
    images: list[MirroredImage]
    records: dict[str, Any] = field(default_factory=dict)
    """Per content kind, what it recorded at export (the bundle's ``records``)."""
    written: list[Path] = field(default_factory=list)
    mirror: Any = None
    """A source reading the mirror the images were pushed to (a ``bundler.transport.Source``; import sets
    it), for renderers that read carried files back (the release's tools)."""
    notes: list[str] = field(default_factory=list)
    """Lines renderers want the admin to see (what was written, warnings)."""

    def write(self, name: str, text: str, mode: int = 0o644) -> Path:
        path = self.outdir / name
        path.write_text(text)
        path.chmod(mode)
        self.written.append(path)
        return path

    def write_yaml(self, name: str, docs: Any) -> Path:
        docs = docs if isinstance(docs, list) else [docs]
        return self.write(name, yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False))
