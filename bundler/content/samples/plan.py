"""Planning samples: the image streams of every planned release's samples operator (plus images listed in
the config), each tag pinned; a stream with an image that cannot be pulled is left out whole."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...errors import BundlerError, ConfigError
from ...oci import Reference, parse
from ...oci.platform import release_arch
from ...plan import PlanContext, PlannedImage
from ..imagefs import image_config
from ..release import release_records
from .streams import ImageStreamInfo, read_images_file, read_operator_streams

COMPONENT = "cluster-samples-operator"


def _release_arch(ctx: PlanContext, release: Reference) -> str:
    """The samples operator's directory name for the release's architecture (x86_64, aarch64 ...)."""
    try:
        arch = str(image_config(ctx.source, release).get("architecture") or "amd64")
    except (BundlerError, ValueError, KeyError):
        arch = "amd64"
    return release_arch(arch)


def _merge(streams: dict[str, ImageStreamInfo], found: dict[str, ImageStreamInfo]) -> None:
    """The same stream in two releases: carry both sets of images."""
    for name, info in found.items():
        if name not in streams:
            streams[name] = info
            continue
        for pull in info.images:
            if pull not in streams[name].images:
                streams[name].images.append(pull)


def streams_from_releases(ctx: PlanContext, record: dict[str, Any]) -> dict[str, ImageStreamInfo]:
    """Every image stream of every planned release's samples operator (``fromRelease``)."""
    streams: dict[str, ImageStreamInfo] = {}
    releases = release_records(ctx.plan)
    if not releases:
        ctx.plan.fail("mirror.samples.fromRelease",
                      "fromRelease needs a release: set mirror.platform.release (or a release that could be read)")
    for rel in releases:
        comp = rel.components.get(COMPONENT)
        if comp is None:
            ctx.plan.fail(rel.image, f"release {rel.version} has no {COMPONENT} component (mirror.samples.fromRelease)")
            continue
        operator = parse(comp)
        arch_dir = _release_arch(ctx, rel.pinned)
        try:
            root, found = read_operator_streams(ctx.source, operator, arch_dir)
        except BundlerError as exc:
            ctx.plan.fail(str(operator), f"release {rel.version} {COMPONENT}: {exc}")
            continue
        record["operators"].append({"release": rel.image, "version": rel.version, "image": str(operator),
                                    "directory": root, "layout": "4.6+" if f"/ocp-{arch_dir}" not in root else "4.5-",
                                    "imagestreams": len(found)})
        _merge(streams, found)
    return streams


class References:
    """Every unique pull spec, the streams that use it, and those that do not parse or resolve."""

    def __init__(self) -> None:
        self.users: dict[str, list[str]] = {}
        self.refs: dict[str, Reference] = {}
        self.bad: dict[str, str] = {}

    def add_streams(self, streams: dict[str, ImageStreamInfo]) -> None:
        for name, info in sorted(streams.items()):
            for pull in info.images:
                self.users.setdefault(pull, []).append(name)
                if pull not in self.refs and pull not in self.bad:
                    try:
                        self.refs[pull] = parse(pull)
                    except ConfigError as exc:
                        self.bad[pull] = exc.message

    def add_explicit(self, refs: list[Reference]) -> None:
        for ref in refs:
            self.users.setdefault(str(ref), [])
            self.refs.setdefault(str(ref), ref)

    def resolve(self, ctx: PlanContext) -> dict[str, PlannedImage]:
        """Pin every reference (in parallel); failures go to ``bad``."""
        resolved: dict[str, PlannedImage] = {}

        def one(key: str) -> None:
            ref = self.refs[key]
            try:
                m = ctx.source.get_manifest(ref)
            except BundlerError as exc:
                self.bad[key] = exc.message
                return
            label = ",".join(self.users[key]) or "samples"
            resolved[key] = PlannedImage("sample", ref, m.digest, m.media_type, [ref.tag] if ref.tag else [], label)

        with ThreadPoolExecutor(max(1, ctx.workers)) as pool:
            list(pool.map(one, sorted(self.refs)))
        return resolved

    def report_failures(self, ctx: PlanContext) -> dict[str, list[str]]:
        """Each bad reference as a plan failure; returns the streams left out, with their bad references."""
        failed: dict[str, list[str]] = {}
        for key, message in sorted(self.bad.items()):
            names = self.users.get(key, [])
            for n in names:
                failed.setdefault(n, []).append(key)
            who = f"sample image stream{'s' if len(names) > 1 else ''} {', '.join(names)}" if names else "sample image"
            ctx.plan.fail(key, f"{who}: {message}" + (" (left out, added to skippedImagestreams)" if names else ""))
        return failed


def _explicit(ctx: PlanContext) -> list[Reference]:
    spec = ctx.config.samples
    assert spec is not None
    explicit: list[Reference] = list(spec.images)
    if spec.images_file is not None:
        try:
            explicit += read_images_file(spec.images_file)
        except ConfigError as exc:
            ctx.plan.fail(str(spec.images_file), str(exc))
    return explicit


def plan(ctx: PlanContext) -> None:
    spec = ctx.config.samples
    if spec is None:
        return
    skip = set(spec.skip)
    record: dict[str, Any] = {"fromRelease": spec.from_release, "skip": sorted(skip), "operators": [],
                              "streams": {}, "images": [], "skippedImagestreams": [], "failedImagestreams": {}}
    ctx.plan.records["samples"] = record
    streams = streams_from_releases(ctx, record) if spec.from_release else {}
    skipped_by_config = sorted(n for n in streams if n in skip or (spec.streams and n not in spec.streams))
    for name in sorted(set(spec.streams) - set(streams)) if streams else []:
        ctx.plan.warnings.append(f"mirror.samples: no sample image stream {name!r} in the release "
                                 f"(it has: {', '.join(sorted(streams))})")
    for name in skipped_by_config:
        del streams[name]
    for name, info in streams.items():
        if info.repository:
            ctx.plan.warnings.append(
                f"sample image stream {name} sets spec.dockerImageRepository {info.repository}: "
                "only the tags its spec names are carried")
    refs = References()
    refs.add_streams(streams)
    refs.add_explicit(_explicit(ctx))
    resolved = refs.resolve(ctx)
    failed = refs.report_failures(ctx)
    kept_images: list[dict[str, Any]] = []
    for key in sorted(resolved):
        names = [n for n in refs.users[key] if n not in failed]
        if refs.users[key] and not names:
            continue   # only used by streams that are left out
        planned = ctx.plan.add(resolved[key])
        kept_images.append({"source": key, "digest": planned.digest, "mediaType": planned.media_type,
                            "imagestreams": names})
    record["streams"] = {n: streams[n].to_json() for n in sorted(streams) if n not in failed}
    record["images"] = kept_images
    record["failedImagestreams"] = {n: sorted(v) for n, v in sorted(failed.items())}
    record["skippedByConfig"] = skipped_by_config
    record["skippedImagestreams"] = sorted(set(failed) | skip)
