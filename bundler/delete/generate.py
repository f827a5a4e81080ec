"""Phase 1 of ``bundler delete`` (a dry run: nothing is deleted): read a DeleteImageSetConfiguration, find
what it names in the mirror (the release and operator planners run against the mirror itself), leave out
every image an optional ``--keep`` ImageSetConfiguration still references (and the images inside its
lists), and write the manifests (and sigstore signature tags) to delete.

As oc-mirror: catalog images themselves are never deleted (operator/common.go "delete mode ... SKIPPED"),
samples are ignored, only manifests are deleted and the registry's garbage collection frees the blobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import config
from ..auth import AuthStore
from ..content import KINDS
from ..errors import BundlerError, NotFoundError
from ..landing import plan_landing
from ..mapping import split_target
from ..oci import mediatypes
from ..oci.digest import hex_of
from ..plan import Plan, PlanContext, PlannedImage
from ..progress import Printer
from ..registry import ConnectOptions, RegistryClient
from ..release_options import ReleaseOptions
from ..sources import with_layouts
from .planfile import TYPES, DeleteItem, DeletePlan
from .view import MirrorView

PLANNED_KINDS = ("releases", "operators", "additional")  # oc-mirror's delete: no samples, no helm here
NOT_DELETED = ("catalog", "bootstrap")


@dataclass
class GenerateOptions:
    config_path: Path
    registry: str
    output: Path
    keep: Path | None = None
    authfile: Path | None = None
    ca_file: Path | None = None
    workers: int = 8
    max_nested_paths: int = 0
    connect: ConnectOptions = field(default_factory=ConnectOptions)


def as_imageset(d: config.DeleteImageSetConfig) -> config.ImageSetConfig:
    """The delete configuration as the planners read it (oc-mirror converts it the same way; samples dropped)."""
    releases = [r for r in [d.platform.release, *d.platform.releases] if r is not None]
    # the graph-data image is built anew by each export (no digest to find in the mirror): not planned here
    platform = replace(d.platform, graph=False)
    return config.ImageSetConfig(path=d.path, releases=releases, additional_images=d.additional_images,
                                 operators=d.operators, platform=platform, additional=d.additional,
                                 api_version=d.api_version, raw=d.raw)


def _routes(cfg: config.ImageSetConfig, prefix: str) -> dict[str, tuple[str, str | None]]:
    """Catalogs sent elsewhere by targetCatalog/targetTag (or an oci:// name): where they are in the mirror."""
    out: dict[str, tuple[str, str | None]] = {}
    for spec in cfg.operators:
        if spec.target_name or spec.target_tag or spec.layout is not None:
            path = spec.mirror_repository
            out[spec.catalog.name] = (f"{prefix}/{path}" if prefix else path, spec.mirror_tag)
    return out


def plan_in_mirror(cfg: config.ImageSetConfig, client: RegistryClient, opts: GenerateOptions) -> PlanContext:
    """Run the planners against the mirror (and the configuration's oci:// layouts)."""
    view = MirrorView(client, opts.registry, _routes(cfg, split_target(opts.registry)[1]), opts.max_nested_paths)
    ctx = PlanContext(config=cfg, source=with_layouts(view, cfg), plan=Plan(), workers=opts.workers,
                      release=ReleaseOptions(ca_file=opts.ca_file, ignore_release_signature=True))
    for kind in KINDS:
        if kind.name in PLANNED_KINDS:
            kind.plan(ctx)
    return ctx


def _kept(ctx: PlanContext, opts: GenerateOptions, client: RegistryClient) -> set[tuple[str, str]]:
    """(mirror path, digest) of every manifest the keep configuration references, lists' children included."""
    landing = plan_landing(ctx.plan.images, opts.registry, ctx.plan.records, opts.max_nested_paths)
    kept: set[tuple[str, str]] = set()
    for img, _, job in landing.placed:
        kept.add((job.target, img.digest))
        if mediatypes.is_list(img.media_type):
            try:
                kept |= {(job.target, c.digest) for c in client.get_manifest(job.target, img.digest).children}
            except BundlerError:
                pass
    return kept


def _signature(client: RegistryClient, path: str, img: PlannedImage) -> str | None:
    """The digest of the sigstore signature tag ``sha256-<hex>.sig`` of the image, when the mirror has one."""
    return client.head_manifest(path, f"sha256-{hex_of(img.digest)}.sig")


def generate(opts: GenerateOptions, say: Printer = print) -> DeletePlan:
    dcfg = config.load_delete(opts.config_path)
    for warning in dcfg.warnings:
        say(f"warning: {warning}")
    host, prefix = split_target(opts.registry)
    client = RegistryClient(host, AuthStore.load(opts.authfile), opts.ca_file, options=opts.connect)
    client.ping()
    cfg = as_imageset(dcfg)
    if dcfg.platform.graph:
        say(f"warning: {opts.config_path}: delete.platform.graph: the update graph image is built anew by each "
            "export; it is not listed (delete it by hand if it must go)")
    say(f"Finding what {opts.config_path} names in {opts.registry} ...")
    ctx = plan_in_mirror(cfg, client, opts)
    for warning in ctx.plan.warnings:
        say(f"warning: {warning}")
    keep: set[tuple[str, str]] = set()
    if opts.keep is not None:
        keep_cfg = config.load(opts.keep, require_content=False)
        say(f"Keeping everything {opts.keep} still references ...")
        keep = _kept(plan_in_mirror(keep_cfg, client, opts), opts, client)
    plan = DeletePlan(registry=opts.registry)
    wanted = [img for img in ctx.plan.images if img.kind not in NOT_DELETED]
    landing = plan_landing(wanted, opts.registry, ctx.plan.records, opts.max_nested_paths)
    for img, _, job in landing.placed:
        _item(plan, client, host, img, job.target, keep)
    for ref, message in sorted(ctx.plan.failed.items()):
        plan.kept.append({"image": ref, "reason": f"not found in the mirror: {message.splitlines()[0]}"})
    plan.write(opts.output)
    say(f"Wrote {opts.output}: {len(plan.items)} manifests to delete, {len(plan.kept)} named images left alone "
        f"(see notDeleted). Nothing was deleted: review it, then run bundler delete --registry {opts.registry} "
        f"--plan {opts.output}")
    return plan


def _item(plan: DeletePlan, client: RegistryClient, host: str, img: PlannedImage, path: str,
          keep: set[tuple[str, str]]) -> None:
    if (path, img.digest) in keep:
        plan.kept.append({"image": str(img.source), "reason": "still referenced by the --keep configuration"})
        return
    try:
        present = client.head_manifest(path, img.digest)
    except NotFoundError:
        present = None
    if present is None:
        plan.kept.append({"image": str(img.source), "reason": f"not in the mirror at {host}/{path}"})
        return
    kind = TYPES.get(img.kind, "generic")
    plan.items.append(DeleteItem(str(img.source), f"docker://{host}/{path}@{img.digest}", kind))
    sig = _signature(client, path, img)
    if sig is not None:
        plan.items.append(DeleteItem(f"{img.source.name}:sha256-{hex_of(img.digest)}.sig",
                                     f"docker://{host}/{path}@{sig}", kind))
