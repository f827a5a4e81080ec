"""The OpenShift release payload: the release image and every component in its
``release-manifests/image-references``, read straight from the image's layers; the releases named by
pullspec and those ``mirror.platform.channels`` selects through the update graph; their signatures
(verified at export, rendered as the CVO's ConfigMap at import); the KubeVirt container disk; the update
service's graph-data image; ``oc`` and ``openshift-install`` for this host.

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
from ...oci.platform import release_arch
from ...plan import Plan, PlanContext, PlannedImage
from ..base import ContentKind
from ..imagefs import read_files
from .kubevirt import BOOTIMAGES

NAME = "releases"
IMAGE_REFERENCES = "release-manifests/image-references"
RELEASE_METADATA = "release-manifests/release-metadata"


@dataclass
class ReleaseRecord:
    image: str                  # the release reference as configured (or as the graph names it)
    digest: str                 # what it resolved to
    version: str
    components: dict[str, str] = field(default_factory=dict)  # component name -> pinned reference
    channel: str = ""           # the channel that selected it (none: named by pullspec)
    arch: str = ""              # the graph architecture it was selected for
    signatures: list[dict[str, Any]] = field(default_factory=list)  # verified, the store's bytes in base64
    tools: dict[str, Any] = field(default_factory=dict)  # --extract-tools: where oc/openshift-install are

    @property
    def pinned(self) -> Pinned:
        return parse(self.image).pin(self.digest)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"image": self.image, "digest": self.digest, "version": self.version,
                               "components": dict(sorted(self.components.items()))}
        optional = {"channel": self.channel, "arch": self.arch, "signatures": self.signatures, "tools": self.tools}
        doc.update({k: v for k, v in optional.items() if v})
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ReleaseRecord:
        return cls(str(doc["image"]), str(doc["digest"]), str(doc.get("version") or ""),
                   dict(doc.get("components") or {}), str(doc.get("channel") or ""), str(doc.get("arch") or ""),
                   list(doc.get("signatures") or []), dict(doc.get("tools") or {}))


def release_records(plan: Plan) -> list[ReleaseRecord]:
    """The releases planned so far (the release kind runs before those that read them)."""
    return [ReleaseRecord.from_json(doc) for doc in plan.records.get(NAME) or []]


def records_of(records: dict[str, Any]) -> list[ReleaseRecord]:
    """The release records a bundle carries (import side)."""
    return [ReleaseRecord.from_json(doc) for doc in records.get(NAME) or []]


def read_release(ctx: PlanContext, ref: Reference,
                 extra: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any], dict[str, bytes]]:
    """The image-references ImageStream and release-metadata of a release image, and the ``extra`` files
    found (read in the same pass over its layers)."""
    wanted = (IMAGE_REFERENCES, RELEASE_METADATA, *extra)
    files = read_files(ctx.source, ref, wanted)
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
    return stream, metadata, files


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
    from . import graph_plan, tools_plan
    from .kubevirt_plan import plan_kubevirt
    from .select import release_targets
    from .verify import verifier

    targets = release_targets(ctx)
    check = verifier(ctx) if targets else None
    for target in targets:
        try:
            release = ctx.pin("release", target.ref)
        except BundlerError as exc:
            ctx.plan.fail(str(target.ref), f"{target.describe()}: the payload cannot be pulled: {exc}")
            continue
        label = target.describe()
        signatures = check.verify(release.digest, target.label) if check is not None else []
        try:
            stream, metadata, files = read_release(ctx, release.pinned, (BOOTIMAGES,))
        except BundlerError as exc:
            ctx.plan.fail(str(target.ref), f"{label}: {exc}")
            continue
        version = (metadata.get("version") or (stream.get("metadata") or {}).get("name") or target.version
                   or target.ref.tag or "")
        _tag_release(release, version, target.arch)
        record = ReleaseRecord(str(target.ref), release.digest, version, _components(ctx, version, stream),
                               target.channel, target.arch, signatures)
        if ctx.config.platform.kubevirt_container:
            plan_kubevirt(ctx, record, files.get(BOOTIMAGES))
        if ctx.release.extract_tools:
            tools_plan.plan_tools(ctx, record)
        ctx.plan.records.setdefault(NAME, []).append(record.to_json())
    if ctx.config.platform.graph:
        graph_plan.plan_graph_image(ctx)


def _tag_release(release: PlannedImage, version: str, arch: str) -> None:
    """A release selected by digest gets the tag upstream gives it (``4.14.1-x86_64``, ``4.14.1-multi``), so
    the mirror holds it by name as well as by digest."""
    if not release.tags and version:
        suffix = "multi" if arch == "multi" else release_arch(arch or "amd64")
        release.tags.append(f"{version}-{suffix}")


def _components(ctx: PlanContext, version: str, stream: dict[str, Any]) -> dict[str, str]:
    comps = components(stream)
    found: dict[str, str] = {}
    with ThreadPoolExecutor(ctx.workers) as pool:
        pins = pool.map(_pin_component, [ctx] * len(comps), [version] * len(comps), *zip(*comps, strict=True))
        for name, pinned in pins:
            if pinned:
                found[name] = pinned
    return found


def _pin_component(ctx: PlanContext, version: str, name: str, ref: Reference) -> tuple[str, str | None]:
    try:
        return name, str(ctx.pin("release-component", ref, label=name).pinned)
    except BundlerError as exc:
        ctx.plan.fail(str(ref), f"release {version} component {name}: {exc}")
        return name, None


def _render(octx: Any) -> None:
    from .render import render

    render(octx)


KIND = ContentKind(NAME, plan, _render)
