"""The delete plan: oc-mirror's ``DeleteImageList`` (``mirror.openshift.io/v2alpha1``), so either tool's
plan can be reviewed the same way. bundler writes every ``imageReference`` by digest (a registry deletes
manifests by digest) and adds ``registry`` at the top; it reads oc-mirror's plans too (references by tag are
resolved to a digest before deleting)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

KIND = "DeleteImageList"
API_VERSION = "mirror.openshift.io/v2alpha1"
# oc-mirror's image types (api/v2alpha1 ImageType) for bundler's kinds
TYPES = {"release": "ocpRelease", "release-component": "ocpReleaseContent", "operator-bundle": "operatorBundle",
         "operator-related": "operatorRelatedImage", "additional": "generic", "sample": "generic"}


@dataclass
class DeleteItem:
    image_name: str
    """The source reference (what the configuration named)."""
    image_reference: str
    """``docker://HOST/PATH@sha256:...`` in the mirror."""
    type: str = "generic"

    def to_json(self) -> dict[str, str]:
        return {"imageName": self.image_name, "imageReference": self.image_reference, "type": self.type}


@dataclass
class DeletePlan:
    registry: str
    items: list[DeleteItem] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)
    """Images the configuration names that stay: still referenced by --keep, or already gone."""

    def to_yaml(self) -> str:
        doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": KIND, "registry": self.registry,
                               "items": [i.to_json() for i in sorted(self.items, key=lambda i: i.image_reference)]}
        if self.kept:
            doc["notDeleted"] = self.kept
        return yaml.safe_dump(doc, sort_keys=False)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_yaml())


def read_plan(path: Path) -> DeletePlan:
    """A delete plan written by ``bundler delete --generate`` or oc-mirror's ``--generate``."""
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"delete plan {path} does not exist", "write one with bundler delete --generate -o FILE") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"delete plan {path} cannot be read as YAML: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        hint = "give this file to bundler delete -c, with --generate" if kind == "DeleteImageSetConfiguration" else None
        raise ConfigError(f"{path} is not a delete plan (kind {kind!r}, expected {KIND})", hint)
    items = []
    for i, raw in enumerate(doc.get("items") or []):
        if not isinstance(raw, dict) or not raw.get("imageReference"):
            raise ConfigError(f"{path}: items[{i}] has no imageReference")
        items.append(DeleteItem(str(raw.get("imageName") or ""), str(raw["imageReference"]), str(raw.get("type") or "")))
    return DeletePlan(registry=str(doc.get("registry") or ""), items=items)
