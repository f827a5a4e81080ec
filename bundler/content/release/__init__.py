"""The OpenShift release payload: the release image and every component in its
``release-manifests/image-references``, read straight from the image's layers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...errors import BundlerError
from ...imagefs import read_files
from ...plan import PlanContext
from ...reference import Reference, parse

IMAGE_REFERENCES = "release-manifests/image-references"
RELEASE_METADATA = "release-manifests/release-metadata"


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
        raise BundlerError(f"{ref}: /{IMAGE_REFERENCES} is not JSON: {exc}") from None
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
        ctx.plan.extra.setdefault("releases", []).append(
            {"image": str(ref), "digest": release.digest, "version": version, "components": dict(sorted(found.items()))}
        )


def _pin_component(ctx: PlanContext, version: str, name: str, ref: Reference) -> tuple[str, str | None]:
    try:
        return name, str(ctx.pin("release-component", ref, label=name).pinned)
    except BundlerError as exc:
        ctx.plan.fail(str(ref), f"release {version} component {name}: {exc}")
        return name, None
