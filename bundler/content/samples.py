"""Samples: the images of the image streams the release's cluster-samples-operator installs.

``mirror.samples`` (our extension of the ImageSetConfiguration)::

    samples:
      fromRelease: true              # read the image streams inside the release's samples operator
      images: [registry.redhat.io/ubi8/httpd-24:latest]   # and/or explicit references
      imagesFile: sample-images.txt  # and/or one reference per line (``#`` comments, blank lines)
      skip: [jenkins]                # image stream names to leave out

With ``fromRelease`` the ``cluster-samples-operator`` component of every release is read straight
from its layers: ``/opt/openshift/operator/<arch>/`` (4.6 and later) or
``/opt/openshift/operator/ocp-<arch>/`` (4.5 and earlier), every ``<group>/imagestreams/*.json``.
Each ``spec.tags[].from`` of kind ``DockerImage`` is an image; ``ImageStreamTag`` entries are aliases
of other tags and are not images. Sample images are referenced by tag, so each tag is pinned to a
digest at export and kept: the import pushes it by digest and by tag under the same repository path,
which is where the samples operator looks once ``spec.samplesRegistry`` names the mirror.

An image stream with an image that cannot be pulled is left out whole, reported as a failure (export
exits non-zero) and named in ``skippedImagestreams``; everything else is carried.
"""

from __future__ import annotations

import json
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import BundlerError, ConfigError
from ..imagefs import image_config, read_files
from ..outputs import OutputContext
from ..plan import PlanContext, PlannedImage
from ..reference import Reference, parse, split_target

COMPONENT = "cluster-samples-operator"
OPERATOR_ROOT = "opt/openshift/operator"
# Go architecture (image config) -> the directory name the samples operator uses.
ARCH_DIRS = {"amd64": "x86_64", "arm64": "aarch64", "ppc64le": "ppc64le", "s390x": "s390x",
             "x86_64": "x86_64", "aarch64": "aarch64"}
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}
# Registries the operator swaps for spec.samplesRegistry (pkg/stub/imagestreams.go upsertImageStream).
OPERATOR_DEFAULT_REGISTRIES = ("docker.io", "registry.redhat.io", "registry.access.redhat.com", "quay.io",
                               "registry.svc.ci.openshift.org")
# Streams whose pull specs the operator never rewrites: their images come from the release payload.
PAYLOAD_STREAMS = ("jenkins", "jenkins-agent-nodejs", "jenkins-agent-maven")
OUTPUT_FILE = "samples-registry.yaml"


@dataclass
class ImageStreamInfo:
    """One sample image stream as read from the operator image."""

    name: str
    file: str
    images: list[str] = field(default_factory=list)     # DockerImage pull specs, in file order, unique
    aliases: list[str] = field(default_factory=list)    # tag names that are ImageStreamTag aliases
    repository: str = ""                                # spec.dockerImageRepository (deprecated), if set

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"file": self.file, "images": self.images}
        if self.aliases:
            doc["aliases"] = self.aliases
        if self.repository:
            doc["dockerImageRepository"] = self.repository
        return doc


# -- reading the operator image -----------------------------------------------------------------

def operator_dirs(arch_dir: str) -> tuple[str, str]:
    """The 4.6+ and the <=4.5 directory of the image streams for one architecture."""
    return f"{OPERATOR_ROOT}/{arch_dir}", f"{OPERATOR_ROOT}/ocp-{arch_dir}"


def is_imagestream_file(path: str) -> bool:
    return (path.startswith(OPERATOR_ROOT + "/") and "/imagestreams/" in path
            and path.rsplit(".", 1)[-1] in ("json", "yaml", "yml"))


def choose_root(paths: list[str], arch_dir: str) -> str | None:
    """The directory to read: the 4.6+ layout for ``arch_dir``, else the <=4.5 one, else None."""
    for root in operator_dirs(arch_dir):
        if any(p.startswith(root + "/") for p in paths):
            return root
    return None


def available_arch_dirs(paths: list[str]) -> list[str]:
    out: set[str] = set()
    for p in paths:
        parts = p[len(OPERATOR_ROOT) + 1:].split("/")
        if len(parts) > 1:
            out.add(parts[0])
    return sorted(out)


def _load(path: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        pass
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise BundlerError(f"/{path} is neither JSON nor YAML: {exc}") from None


def stream_docs(doc: Any) -> list[dict[str, Any]]:
    """The ImageStream objects in a file (a single ImageStream or a List of them)."""
    if not isinstance(doc, dict):
        return []
    if doc.get("kind") == "ImageStream":
        return [doc]
    if str(doc.get("kind", "")).endswith("List"):
        return [d for d in doc.get("items") or [] if isinstance(d, dict) and d.get("kind") == "ImageStream"]
    return []


def parse_stream(doc: dict[str, Any], file: str) -> ImageStreamInfo:
    """Images and aliases of one ImageStream object."""
    name = str((doc.get("metadata") or {}).get("name") or posixpath.splitext(posixpath.basename(file))[0])
    spec = doc.get("spec") or {}
    info = ImageStreamInfo(name=name, file=file, repository=str(spec.get("dockerImageRepository") or ""))
    for tag in spec.get("tags") or []:
        src = (tag or {}).get("from") or {}
        kind = src.get("kind")
        if kind == "DockerImage" and src.get("name"):
            pull = str(src["name"]).strip()
            if pull not in info.images:
                info.images.append(pull)
        elif kind in ("ImageStreamTag", "ImageStreamImage"):
            info.aliases.append(str(tag.get("name", "")))
    return info


def parse_streams(files: dict[str, bytes], root: str) -> dict[str, ImageStreamInfo]:
    """Every image stream under ``root``, by name (a later file of the same name wins, as in the
    operator's inventory)."""
    streams: dict[str, ImageStreamInfo] = {}
    for path in sorted(files):
        if not path.startswith(root + "/") or not is_imagestream_file(path):
            continue
        for doc in stream_docs(_load(path, files[path])):
            info = parse_stream(doc, "/" + path)
            streams[info.name] = info
    return streams


def read_images_file(path: Path) -> list[Reference]:
    """One reference per line; ``#`` starts a comment; blank lines are ignored."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"mirror.samples.imagesFile {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read mirror.samples.imagesFile {path}: {exc.strerror}") from None
    out: list[Reference] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            out.append(parse(line))
        except ConfigError as exc:
            raise ConfigError(f"{path} line {n}: {exc.message}") from None
    return out


# -- where the samples operator looks ----------------------------------------------------------

def samples_registry(target: str) -> str:
    """``spec.samplesRegistry`` for an import target ``HOST[:PORT][/PREFIX]``."""
    host, prefix = split_target(target)
    return f"{host}/{prefix}" if prefix else host


def operator_pullspec(pullspec: str, registry: str, stream: str = "") -> str:
    """The pull spec the samples operator writes into a stream once ``samplesRegistry`` is
    ``registry`` (``coreUpdateDockerPullSpec``): for ``host/ns/name[:tag]`` the host is swapped;
    any other shape gets ``registry/`` put in front of it whole. Payload streams (jenkins) are left
    alone."""
    if not registry or stream in PAYLOAD_STREAMS or pullspec.startswith(registry):
        return pullspec
    if pullspec.count("/") == 2:
        for old in OPERATOR_DEFAULT_REGISTRIES:
            if pullspec.startswith(old):
                return pullspec.replace(old, registry, 1)
        parts = pullspec.split("/")
        return f"{registry}/{parts[1]}/{parts[2]}"
    return f"{registry}/{pullspec}"


# -- planning ---------------------------------------------------------------------------------

def _release_arch(ctx: PlanContext, release: Reference) -> str:
    try:
        arch = str(image_config(ctx.source, release).get("architecture") or "amd64")
    except (BundlerError, ValueError, KeyError):
        arch = "amd64"
    return ARCH_DIRS.get(arch, arch)


def _samples_operators(ctx: PlanContext) -> list[tuple[dict[str, Any], Reference | None]]:
    """(release record, samples operator reference) for every planned release."""
    out: list[tuple[dict[str, Any], Reference | None]] = []
    for rel in ctx.plan.extra.get("releases") or []:
        comp = (rel.get("components") or {}).get(COMPONENT)
        out.append((rel, parse(comp) if comp else None))
    return out


def read_operator_streams(ctx: PlanContext, operator: Reference, arch_dir: str) -> tuple[str, dict[str, ImageStreamInfo]]:
    """(directory read, image streams) of a samples operator image, for ``arch_dir``."""
    files = read_files(ctx.source, operator, is_imagestream_file, arch=GO_ARCH.get(arch_dir, "amd64"))
    paths = sorted(files)
    root = choose_root(paths, arch_dir)
    if root is None:
        found = available_arch_dirs(paths)
        raise BundlerError(
            f"{operator} has no image streams for {arch_dir} under /{OPERATOR_ROOT}/{arch_dir}/ (4.6+) "
            f"or /{OPERATOR_ROOT}/ocp-{arch_dir}/ (4.5 and earlier)"
            + (f"; it has {', '.join(found)}" if found else ""),
            "check that the release's cluster-samples-operator is an OpenShift samples operator image",
        )
    return "/" + root, parse_streams(files, root)


def plan(ctx: PlanContext) -> None:
    spec = ctx.config.samples
    if spec is None:
        return
    skip = set(spec.skip)
    record: dict[str, Any] = {"fromRelease": spec.from_release, "skip": sorted(skip), "operators": [],
                              "streams": {}, "images": [], "skippedImagestreams": [], "failedImagestreams": {}}
    ctx.plan.extra["samples"] = record
    streams: dict[str, ImageStreamInfo] = {}

    if spec.from_release:
        found_any = False
        for rel, operator in _samples_operators(ctx):
            if operator is None:
                ctx.plan.fail(str(rel.get("image")),
                              f"release {rel.get('version')} has no {COMPONENT} component (mirror.samples.fromRelease)")
                continue
            found_any = True
            arch_dir = _release_arch(ctx, parse(f"{rel['image'].split('@')[0]}@{rel['digest']}")
                                     if rel.get("digest") else parse(rel["image"]))
            try:
                root, found = read_operator_streams(ctx, operator, arch_dir)
            except BundlerError as exc:
                ctx.plan.fail(str(operator), f"release {rel.get('version')} {COMPONENT}: {exc}")
                continue
            record["operators"].append({"release": rel.get("image"), "version": rel.get("version"),
                                        "image": str(operator), "directory": root,
                                        "layout": "4.6+" if f"/ocp-{arch_dir}" not in root else "4.5-",
                                        "imagestreams": len(found)})
            for name, info in found.items():
                if name in streams:   # the same stream in two releases: carry both sets of images
                    for pull in info.images:
                        if pull not in streams[name].images:
                            streams[name].images.append(pull)
                else:
                    streams[name] = info
        if not found_any and not ctx.plan.extra.get("releases"):
            ctx.plan.fail("mirror.samples.fromRelease",
                          "fromRelease needs a release: set mirror.platform.release (or a release that could be read)")

    skipped_by_config = sorted(n for n in streams if n in skip)
    for name in skipped_by_config:
        del streams[name]
    for name, info in streams.items():
        if info.repository:
            ctx.plan.warnings.append(
                f"sample image stream {name} sets spec.dockerImageRepository {info.repository}: "
                "only the tags its spec names are carried")

    # every unique reference -> the streams that use it (explicit images belong to no stream)
    users: dict[str, list[str]] = {}
    refs: dict[str, Reference] = {}
    bad: dict[str, str] = {}
    for name, info in sorted(streams.items()):
        for pull in info.images:
            users.setdefault(pull, []).append(name)
            if pull not in refs and pull not in bad:
                try:
                    refs[pull] = parse(pull)
                except ConfigError as exc:
                    bad[pull] = exc.message
    explicit: list[Reference] = list(spec.images)
    if spec.images_file is not None:
        try:
            explicit += read_images_file(spec.images_file)
        except ConfigError as exc:
            ctx.plan.fail(str(spec.images_file), str(exc))
    for ref in explicit:
        users.setdefault(str(ref), [])
        refs.setdefault(str(ref), ref)

    resolved: dict[str, PlannedImage] = {}

    def resolve(key: str) -> None:
        ref = refs[key]
        try:
            m = ctx.source.get_manifest(ref)
        except BundlerError as exc:
            bad[key] = exc.message
            return
        label = ",".join(users[key]) or "samples"
        resolved[key] = PlannedImage("sample", ref, m.digest, m.media_type, [ref.tag] if ref.tag else [], label)

    with ThreadPoolExecutor(max(1, ctx.workers)) as pool:
        list(pool.map(resolve, sorted(refs)))

    failed: dict[str, list[str]] = {}
    for key, message in sorted(bad.items()):
        names = users.get(key, [])
        for n in names:
            failed.setdefault(n, []).append(key)
        who = f"sample image stream{'s' if len(names) > 1 else ''} {', '.join(names)}" if names else "sample image"
        ctx.plan.fail(key, f"{who}: {message}" + (" (left out, added to skippedImagestreams)" if names else ""))

    kept_images: list[dict[str, Any]] = []
    for key in sorted(resolved):
        names = [n for n in users[key] if n not in failed]
        if users[key] and not names:
            continue   # only used by streams that are left out
        planned = ctx.plan.add(resolved[key])
        kept_images.append({"source": key, "digest": planned.digest, "mediaType": planned.media_type,
                            "imagestreams": names})

    record["streams"] = {n: streams[n].to_json() for n in sorted(streams) if n not in failed}
    record["images"] = kept_images
    record["failedImagestreams"] = {n: sorted(v) for n, v in sorted(failed.items())}
    record["skippedByConfig"] = skipped_by_config
    record["skippedImagestreams"] = sorted(set(failed) | skip)


# -- outputs ----------------------------------------------------------------------------------

def render_outputs(octx: OutputContext) -> None:
    """``samples-registry.yaml``: the merge patch for ``configs.samples.operator.openshift.io/cluster``."""
    record = (octx.metadata.get("extra") or {}).get("samples")
    samples = [img for img in octx.images if img.kind == "sample"]
    if record is None and not samples:
        return
    record = record or {}
    registry = samples_registry(octx.registry)
    streams_of: dict[str, list[str]] = {}
    for entry in record.get("images") or []:
        streams_of[entry["source"]] = entry.get("imagestreams") or []
    mismatches: list[str] = []
    for img in samples:
        key = f"{img.source.name}:{img.source.tag}" if img.source.tag else str(img.source)
        names = streams_of.get(key) or [""]
        for name in names:
            if name in PAYLOAD_STREAMS:
                continue
            want = operator_pullspec(key, registry, name)
            have = img.mirror_ref
            if want != have:
                mismatches.append(f"#   {key}{f' (image stream {name})' if name else ''}: the operator looks at "
                                  f"{want}, the image is at {have}")
    skipped = list(record.get("skippedImagestreams") or [])
    failed = record.get("failedImagestreams") or {}
    patch = {"spec": {"managementState": "Managed", "samplesRegistry": registry,
                      "skippedImagestreams": skipped}}
    lines = [
        "# Generated by bundler: point the Samples Operator at the mirror.",
        "# Apply with:",
        f"#   oc patch configs.samples.operator.openshift.io cluster --type merge --patch-file {OUTPUT_FILE}",
        "# (older oc: oc patch configs.samples.operator.openshift.io cluster --type merge "
        f"-p \"$(cat {OUTPUT_FILE})\")",
        "# The operator then pulls every sample from samplesRegistry + the image's original repository",
        "# path, by tag; imageTagMirrorSet.yaml maps the same tags for other clients. If the mirror uses a",
        "# private CA, add it to image.config.openshift.io/cluster spec.additionalTrustedCA first.",
        f"# {len(samples)} sample images carried ({sum(len(i.tags) for i in samples)} tags).",
    ]
    if failed:
        lines.append("# Image streams left out because an image could not be pulled at export:")
        lines += [f"#   {name}: {', '.join(refs)}" for name, refs in sorted(failed.items())]
    if record.get("skippedByConfig"):
        lines.append(f"# Image streams left out by mirror.samples.skip: {', '.join(record['skippedByConfig'])}")
    if mismatches:
        lines.append("# WARNING: these samples are not where the operator will look for them (their")
        lines.append("# repository path has a different shape or was moved to keep two hosts apart):")
        lines += mismatches
    text = "\n".join(lines) + "\n" + yaml.safe_dump(patch, sort_keys=False, default_flow_style=False)
    octx.write(OUTPUT_FILE, text)
