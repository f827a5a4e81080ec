"""``bundler export``: config -> plan -> copy (registry -> bundle) -> commit (pack).

Planners read the upstream through an overlay that keeps what they read in the work directory
``BUNDLE.work/`` (an OCI layout whose blobs are only ever complete and verified), and put the images they
build (pruned catalogs) in memory. The copy then takes every image from memory, the work directory or the
upstream, in that order, so an interrupted export re-run with the same arguments fetches only what is missing.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import config
from .auth import AuthStore
from .bundle import BundleDestination, BundleMetadata, checksum_path, work_dir
from .content import plan_all
from .engine import CopyEngine, CopyResult, Resolution, resolve
from .errors import BundlerError, DiskError
from .landing import pull_jobs
from .oci.layout import OCILayout
from .plan import KINDS, Plan, PlanContext, PlannedImage
from .progress import BarFactory, Printer, human, no_bars
from .registry import ConnectOptions, RegistryPool
from .release_options import ReleaseOptions
from .sources import with_layouts
from .transport import Source
from .transport.layout import LayoutSource
from .transport.overlay import LocalStore, OverlaySource
from .transport.registry import RegistrySource


@dataclass
class ExportOptions:
    config_path: Path
    bundle: Path
    authfile: Path | None = None
    ca_file: Path | None = None
    workers: int = 8
    split_size: int | None = None
    dry_run: bool = False
    keep_work: bool = False
    release: ReleaseOptions = field(default_factory=ReleaseOptions)
    zstd_level: int = 1  # layers are already compressed: level 1 is as small as 3 on them, and faster
    connect: ConnectOptions = field(default_factory=ConnectOptions)

    def release_options(self) -> ReleaseOptions:
        """The release flags, trusting the update service and signature store as the registries (--ca-file)."""
        return replace(self.release, ca_file=self.release.ca_file or self.ca_file)


@dataclass
class ExportResult:
    plan: Plan
    resolution: Resolution | None = None
    copy: CopyResult | None = None
    parts: list[tuple[Path, str]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    bytes_total: int = 0
    blobs_total: int = 0


def check_writable(bundle: Path) -> None:
    """Fail before any download when the bundle cannot be written where asked."""
    parent = bundle.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".{bundle.name}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DiskError(f"cannot write the bundle to {parent}: {exc.strerror}", "choose a writable -o path") from exc
    if bundle.is_dir():
        raise DiskError(f"{bundle} is a directory", "give -o a file name such as out/ocp.tar.zst")


def plan_summary(images: list[PlannedImage], blobs: int, total: int) -> str:
    counts: dict[str, int] = {}
    for img in images:
        counts[img.kind] = counts.get(img.kind, 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: KINDS.index(kv[0])
                                                     if kv[0] in KINDS else 99))
    return f"Plan: {len(images)} images ({kinds}); {blobs} unique blobs, {human(total)} ({total} bytes)"


def report_failures(failed: dict[str, str], say: Printer) -> None:
    if failed:
        say(f"FAILED: {len(failed)} image(s):")
        for ref, msg in sorted(failed.items()):
            say(f"  - {ref}: {msg}")


class _Places:
    """Where an export reads from and keeps things: built once, for the whole run."""

    def __init__(self, opts: ExportOptions, upstream: Source) -> None:
        work = work_dir(opts.bundle)
        keep = not opts.dry_run
        self.layout = OCILayout(work) if keep or work.exists() else None  # a dry run creates nothing
        local: list[LocalStore] = [LayoutSource(self.layout)] if self.layout is not None else []
        self.work = work
        self.planning = OverlaySource(upstream, local, keep=self.layout if keep else None)
        self.upstream = upstream
        self.local = local

    def copy_source(self, ctx: PlanContext) -> OverlaySource:
        """Images built while planning (in memory) first, then what is kept, then the upstream."""
        return OverlaySource(self.upstream, [ctx.store, *self.local])


def _archive_size(opts: ExportOptions, cfg: config.ImageSetConfig, say: Printer) -> None:
    """oc-mirror's ``archiveSize`` (GiB) is the split size unless ``--split-size`` is given."""
    if opts.split_size is None and cfg.archive_size:
        opts.split_size = cfg.archive_size
        say(f"Splitting into parts of {cfg.archive_size_gib} GiB (archiveSize in {opts.config_path}).")


def _say_plan_messages(plan: Plan, say: Printer) -> None:
    """Planning's warnings, then its information lines (charts resolved, releases and the upgrade path)."""
    for line in [*(f"warning: {w}" for w in plan.warnings), *plan.notes]:
        say(line)


def load_config(path: Path, say: Printer) -> config.ImageSetConfig:
    """The configuration, its warnings printed first (also when loading fails: they often explain it)."""
    try:
        cfg = config.load(path)
    except config.ConfigLoadError as exc:
        for warning in exc.warnings:
            say(f"warning: {warning}")
        raise
    for warning in cfg.warnings:
        say(f"warning: {warning}")
    return cfg


def run_export(opts: ExportOptions, say: Printer = print, bars: BarFactory = no_bars) -> ExportResult:
    start = time.monotonic()
    cfg = load_config(opts.config_path, say)
    _archive_size(opts, cfg, say)
    if not opts.dry_run:
        check_writable(opts.bundle)
    pool = RegistryPool(AuthStore.load(opts.authfile), opts.ca_file, opts.connect)
    places = _Places(opts, with_layouts(RegistrySource(pool), cfg))
    ctx = PlanContext(config=cfg, source=places.planning, plan=Plan(), workers=opts.workers, pool=pool,
                      release=opts.release_options())
    say(f"Planning from {opts.config_path} ...")
    plan_all(ctx)
    _say_plan_messages(ctx.plan, say)
    images = ctx.plan.sorted_images()
    if not images:
        details = "; ".join(f"{ref}: {msg}" for ref, msg in ctx.plan.failed.items())
        raise BundlerError(f"nothing to export: every image failed ({details})")
    source = places.copy_source(ctx)
    res = resolve(source, pull_jobs(images, ctx.plan.records), opts.workers)
    result = ExportResult(plan=ctx.plan, resolution=res, failed={**ctx.plan.failed, **res.failed},
                          blobs_total=res.blobs_total, bytes_total=res.bytes_total)
    say(plan_summary(images, res.blobs_total, res.bytes_total))
    if opts.dry_run:
        have = sum(max(n.size, 0) for n in res.needs.values()
                   if places.layout is not None and places.layout.has_blob(n.digest, n.size))
        if have:
            say(f"  already in {places.work}: {human(have)} (a re-run fetches only the rest)")
        report_failures(result.failed, say)
        return result
    assert places.layout is not None
    requested = {"path": str(opts.config_path), "imageSetConfiguration": cfg.raw}
    _copy_and_pack(opts, places.layout, source, res, images, requested, result, say, bars, start)
    result.seconds = time.monotonic() - start
    size = sum(p.stat().st_size for p, _ in result.parts)
    carried = len(images) - len([i for i in images if str(i.pinned) in result.failed])
    say(f"Wrote {len(result.parts)} part(s), {human(size)}, and {checksum_path(opts.bundle).name} "
        f"in {result.seconds:.1f}s: {carried} images, {result.blobs_total} blobs ({human(result.bytes_total)}).")
    if result.failed:
        report_failures(result.failed, say)
        say(f"The bundle is INCOMPLETE. {places.work} is kept: re-run the same command to fetch only what is missing.")
    elif not opts.keep_work:
        shutil.rmtree(places.work, ignore_errors=True)
    return result


def _copy_and_pack(opts: ExportOptions, layout: OCILayout, source: OverlaySource, res: Resolution,
                   images: list[PlannedImage], requested: dict[str, Any], result: ExportResult,
                   say: Printer, bars: BarFactory, start: float) -> None:
    """Copy into the work layout, describe what arrived, pack the bundle."""
    planning = time.monotonic() - start
    pull = bars("pull", res.bytes_total)
    dest = BundleDestination(opts.bundle, layout, opts.split_size, opts.zstd_level)
    try:
        copy = CopyEngine(source, dest, opts.workers, on_bytes=pull.update).run(res)
    finally:
        pull.close()
    say(f"Pulled {copy.blobs_copied} blobs ({human(copy.bytes_copied)}) in {copy.seconds:.1f}s"
        + (f", {copy.blobs_skipped} already in {layout.root.name}" if copy.blobs_skipped else "")
        + f"; planning took {planning:.1f}s.")
    result.copy = copy
    result.failed = {**result.plan.failed, **copy.failed}
    ok = [img for img in images if str(img.pinned) not in copy.failed]
    trees = {str(job.source): copy.manifests[job.key] for job in res.jobs if str(job.source) not in copy.failed}
    meta = dest.describe(BundleMetadata(images=ok, failed=result.failed, records=result.plan.records,
                                        requested=dict(requested)), trees)
    result.blobs_total, result.bytes_total = meta.blobs, meta.blob_bytes
    say(f"Packing {len(ok)} images into {opts.bundle}{' (split)' if opts.split_size else ''} ...")
    pack = bars("pack", meta.blob_bytes)
    dest.on_pack = pack.update
    try:
        dest.commit()
    finally:
        pack.close()
    result.parts = dest.parts
