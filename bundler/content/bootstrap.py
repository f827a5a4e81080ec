"""The images of the registry stack import bootstraps (Quay, Redis, database), carried in the bundle so the
air-gapped side pulls nothing. Enabled by the ``bootstrap:`` section of the ImageSetConfiguration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import BundlerError
from ..plan import Plan, PlanContext
from .base import ContentKind

NAME = "bootstrap"


@dataclass
class BootstrapRecord:
    flavor: str = ""
    images: dict[str, str] = field(default_factory=dict)  # role -> source reference

    def to_json(self) -> dict[str, Any]:
        return {"flavor": self.flavor, "images": dict(self.images)}

    @classmethod
    def from_records(cls, records: dict[str, Any]) -> BootstrapRecord:
        doc = records.get(NAME) or {}
        return cls(str(doc.get("flavor") or ""), dict(doc.get("images") or {}))


def plan(ctx: PlanContext) -> None:
    spec = ctx.config.bootstrap
    if not spec.enabled:
        return
    roles = {}
    for role, ref in sorted(spec.images.items()):
        try:
            img = ctx.pin("bootstrap", ref, label=role)
            roles[role] = str(img.source)
        except BundlerError as exc:
            ctx.plan.fail(str(ref), f"bootstrap image for {role}: {exc}")
    record(ctx.plan, BootstrapRecord(spec.flavor, roles))


def record(plan: Plan, rec: BootstrapRecord) -> None:
    plan.records[NAME] = rec.to_json()


KIND = ContentKind(NAME, plan)
