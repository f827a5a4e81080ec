"""The OpenShift release payload: the release image and every component in its
``release-manifests/image-references``, read straight from the image's layers.

Its record (one :class:`ReleaseRecord` per release) is what samples read to find each release's
cluster-samples-operator: through :func:`release_records`, typed, not through a string key.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ...errors import BundlerError
from ...oci import Pinned, Reference, parse
from ...plan import Plan, PlanContext
from ..base import ContentKind
from ..imagefs import read_files

NAME = "releases"
IMAGE_REFERENCES = "release-manifests/image-references"
RELEASE_METADATA = "release-manifests/release-metadata"


@dataclass
class ReleaseRecord:
    image: str                  # the release reference as configured
    digest: str                 # what it resolved to
    version: str
    components: dict[str, str] = field(default_factory=dict)  # component name -> pinned reference

    @property
    def pinned(self) -> Pinned:
        return parse(self.image).pin(self.digest)

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "digest": self.digest, "version": self.version,
                "components": dict(sorted(self.components.items()))}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ReleaseRecord:
        return cls(str(doc["image"]), str(doc["digest"]), str(doc.get("version") or ""),
                   dict(doc.get("components") or {}))


def release_records(plan: Plan) -> list[ReleaseRecord]:
    """The releases planned so far (the release kind runs before those that read them)."""
    return [ReleaseRecord.from_json(doc) for doc in plan.records.get(NAME) or []]


def read_release(ctx: PlanContext, ref: Reference) -> tuple[dict[str, Any], dict[str, Any]]:
    """The image-references ImageStream and release-metadata of a release image."""
    files = read_files(ctx.source, ref, lambda p: p in (IMAGE_REFERENCES, RELEASE_METADATA))
    if IMAGE_REFERENCES not in files:
        raise BundlerError(
            f"{ref} has no /{IMAGE_REFERENCES}: it is not an OpenShift release image",
            "set mirror.platform.release to a release image such as quay.io/openshift-release-dev/ocp-release:4.14.1-x86_64",
        )
    try:
        stream = json.loads(files[IMAGE_REFERENCES])
        metadata = json.loads(files[RELEASE_METADATA]) if RELEASE_METADATA in files else {}
    except ValueError as exc:
        raise BundlerError(f"{ref}: /{IMAGE_REFERENCES} is not JSON: {exc}") from exc
    if not isinstance(stream, dict) or stream.get("kind") != "ImageStream":
        raise BundlerError(f"{ref}: /{IMAGE_REFERENCES} is not an ImageStream")
    return stream, metadata


def components(stream: dict[str, Any]) -> list[tuple[str, Reference]]:
    """(component name, reference by digest) for every ``spec.tags[]`` entry."""
    out = []
    for tag in (stream.get("spec") or {}).get("tags") or []:
        src = tag.get("from") or {}
        if src.get("kind", "DockerImage") != "DockerImage" or not src.get("name"):
            continue
        out.append((str(tag.get("name", "")), parse(src["name"])))
    return out


def plan(ctx: PlanContext) -> None:
    for ref in ctx.config.releases:
        try:
            release = ctx.pin("release", ref)
            stream, metadata = read_release(ctx, release.pinned)
        except BundlerError as exc:
            ctx.plan.fail(str(ref), str(exc))
            continue
        version = metadata.get("version") or (stream.get("metadata") or {}).get("name") or ref.tag or ""
        comps = components(stream)
        found: dict[str, str] = {}
        with ThreadPoolExecutor(ctx.workers) as pool:
            pins = pool.map(_pin_component, [ctx] * len(comps), [version] * len(comps), *zip(*comps, strict=True))
            for name, pinned in pins:
                if pinned:
                    found[name] = pinned
        ctx.plan.records.setdefault(NAME, []).append(ReleaseRecord(str(ref), release.digest, version, found).to_json())


def _pin_component(ctx: PlanContext, version: str, name: str, ref: Reference) -> tuple[str, str | None]:
    try:
        return name, str(ctx.pin("release-component", ref, label=name).pinned)
    except BundlerError as exc:
        ctx.plan.fail(str(ref), f"release {version} component {name}: {exc}")
        return name, None


KIND = ContentKind(NAME, plan)
