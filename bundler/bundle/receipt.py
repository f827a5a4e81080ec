"""What a verify or an import checked, printed and (import) written as ``receipt.json``: the parts, the
manifests and blobs, the bytes, who signed, the base a differential needed, the parts rebuilt."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .archive import ArchiveReader
from .metadata import BundleMetadata
from .signing import Signed


@dataclass
class Receipt:
    bundle: str
    schema: int
    parts: list[str] = field(default_factory=list)
    parity_parts: list[str] = field(default_factory=list)
    manifests: int = 0
    blobs: int = 0
    bytes: int = 0
    signer: str | None = None
    signer_trusted: bool = False
    base: dict[str, Any] | None = None
    base_checked: int = 0
    rebuilt: list[str] = field(default_factory=list)
    """Parts read through their reconstruction from parity (nothing written)."""
    repaired: list[str] = field(default_factory=list)
    """Parts rebuilt from parity and written back (``verify --repair``)."""

    @classmethod
    def start(cls, reader: ArchiveReader, meta: BundleMetadata, signed: Signed | None) -> Receipt:
        parity = reader.parity
        return cls(bundle=str(reader.bundle), schema=reader.schema, parts=[p.name for p, _ in reader.parts],
                   parity_parts=[p.name for p in (parity.present.values() if parity else [])],
                   signer=signed.fingerprint if signed else None, signer_trusted=bool(signed and signed.trusted),
                   base=meta.base)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "schemaVersion": self.schema, "parts": self.parts,
                "parityParts": self.parity_parts, "manifests": self.manifests, "blobs": self.blobs,
                "bytes": self.bytes,
                "signature": {"fingerprint": self.signer, "trustedKey": self.signer_trusted} if self.signer else None,
                "base": self.base, "baseContentChecked": self.base_checked,
                "rebuiltFromParity": self.rebuilt, "repaired": self.repaired}

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    def lines(self) -> list[str]:
        out = [f"Checked {len(self.parts)} file(s) of {self.bundle} (schema {self.schema})"
               + (f" and {len(self.parity_parts)} parity part(s)" if self.parity_parts else "")
               + f": {self.manifests} manifests, {self.blobs} blobs, {self.bytes} bytes."]
        if self.signer:
            out.append(f"Signed by key {self.signer}" + (" (one of the keys given)." if self.signer_trusted else
                                                         " (integrity checked; pass --verify-key to trust a key)."))
        else:
            out.append("Not signed.")
        if self.base:
            out.append(f"Differential: needs {self.base.get('kind')} {self.base.get('name')} "
                       f"(sha256 {str(self.base.get('id'))[:12]}, {self.base.get('created')})"
                       + (f"; {self.base_checked} manifests and blobs of it found in the registry" if self.base_checked
                          else ""))
        if self.rebuilt:
            out.append("Rebuilt from parity while reading (not written): " + ", ".join(self.rebuilt))
        if self.repaired:
            out.append("Repaired from parity and written back: " + ", ".join(self.repaired))
        return out
