"""``bundler export``: config -> plan -> copy (registry -> bundle, written while it pulls) -> commit.

Planners read the upstream through an overlay that keeps what they read (release and catalog layers) in a
bounded cache beside the bundle, so the copy does not fetch it again. The copy streams every blob straight
into the data parts (one copy on disk), the bootstrap images' first; commit writes the front, parity,
checksums and signature. An interrupted export re-run with the same arguments continues from the journal
beside the parts and fetches only what they do not hold. With ``--since`` only what the base lacks is
carried.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import config
from .auth import AuthStore
from .bundle import BundleDestination, BundleMetadata, checksum_path
from .bundle.diff import BaseContent, load_base
from .bundle.media import MEDIUM_RESERVE
from .bundle.names import cache_dir
from .bundle.writer import BundleWriter, Finish, resumable
from .content import plan_all
from .engine import CopyEngine, CopyResult, Resolution, resolve
from .errors import BundlerError, DiskError
from .export_support import TEMP_BUDGET, CappedLayout, check_free_space, split_resolution
from .landing import pull_jobs
from .plan import KINDS, Plan, PlanContext, PlannedImage
from .plan_alongside import PlanAlongside
from .progress import BarFactory, Printer, human, no_bars
from .registry import ConnectOptions, RegistryPool
from .release_options import ReleaseOptions
from .sources import with_layouts
from .transport import Source
from .transport.layout import LayoutSource
from .transport.overlay import OverlaySource
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
    release: ReleaseOptions = field(default_factory=ReleaseOptions)
    zstd_level: int = 1  # layers are already compressed: level 1 is as small as 3 on them, and faster
    connect: ConnectOptions = field(default_factory=ConnectOptions)
    since: Path | None = None
    parity_percent: float = 0.0
    sign_key: Path | None = None

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
    carried_bytes: int = 0
    base: BaseContent | None = None
    fingerprint: str | None = None


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


def _sources(opts: ExportOptions, upstream: Source) -> tuple[OverlaySource, CappedLayout | None]:
    """The planners' source: the upstream, keeping what they read in the bounded cache (not on a dry run)."""
    cache = cache_dir(opts.bundle)
    layout = CappedLayout(cache, TEMP_BUDGET) if not opts.dry_run or cache.exists() else None
    local = [LayoutSource(layout)] if layout is not None else []
    return OverlaySource(upstream, local, keep=layout if not opts.dry_run else None), layout


def _archive_size(opts: ExportOptions, cfg: config.ImageSetConfig, say: Printer) -> None:
    """oc-mirror's ``archiveSize`` (GiB) is the split size unless ``--split-size`` is given."""
    if opts.split_size is None and cfg.archive_size:
        opts.split_size = cfg.archive_size
        say(f"Splitting into parts of {cfg.archive_size_gib} GiB (archiveSize in {opts.config_path}).")


def say_plan_messages(plan: Plan, say: Printer) -> None:
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
    signer = _load_signer(opts.sign_key)
    base = load_base(opts.since) if opts.since else None
    pool = RegistryPool(AuthStore.load(opts.authfile), opts.ca_file, opts.connect)
    upstream = with_layouts(RegistrySource(pool), cfg)
    planning, cache = _sources(opts, upstream)
    ctx = PlanContext(config=cfg, source=planning, plan=Plan(), workers=opts.workers, pool=pool,
                      release=opts.release_options())
    say(f"Planning from {opts.config_path} ...")
    alongside = not opts.dry_run and not ctx.release.require_sigstore
    plan_all(ctx, alongside=alongside)
    say_plan_messages(ctx.plan, say)
    images = ctx.plan.sorted_images()
    if not images:
        details = "; ".join(f"{ref}: {msg}" for ref, msg in ctx.plan.failed.items())
        raise BundlerError(f"nothing to export: every image failed ({details})")
    source = OverlaySource(upstream, [ctx.store, *([LayoutSource(cache)] if cache is not None else [])])
    res = resolve(source, pull_jobs(images, ctx.plan.records), opts.workers)
    result = ExportResult(plan=ctx.plan, resolution=res, failed={**ctx.plan.failed, **res.failed},
                          blobs_total=res.blobs_total, bytes_total=res.bytes_total, base=base)
    in_base = base.present([*res.needs, *(m.digest for t in res.trees.values() for m in t)]) if base else set()
    result.carried_bytes = sum(max(n.size, 0) for d, n in res.needs.items() if d not in in_base)
    say(plan_summary(images, res.blobs_total, res.bytes_total))
    if base is not None:
        say(f"Differential since {base.describe()}: {len(in_base)} blobs and manifests are there already; "
            f"carrying {human(result.carried_bytes)} of {human(res.bytes_total)}")
    if opts.dry_run:
        report_failures(result.failed, say)
        return result
    requested = {"path": str(opts.config_path), "imageSetConfiguration": cfg.raw}
    late = PlanAlongside(ctx) if alongside else None
    try:
        _copy_and_commit(opts, source, res, images, requested, result, in_base, signer, say, bars, start, late)
    except DiskError:
        shutil.rmtree(cache_dir(opts.bundle), ignore_errors=True)  # give the space back; the journal stays
        raise
    result.seconds = time.monotonic() - start
    _wrote(opts, result, images, cache is not None and not result.failed, say)
    return result


def _wrote(opts: ExportOptions, result: ExportResult, images: list[PlannedImage], clean_cache: bool,
           say: Printer) -> None:
    size = sum(p.stat().st_size for p, _ in result.parts)
    front = opts.bundle.stat().st_size
    carried = len(images) - len([i for i in images if str(i.pinned) in result.failed])
    say(f"Wrote {opts.bundle} (the front, {human(front)}) and {len(result.parts) - 1} data part(s), {human(size)} "
        f"in all, and {checksum_path(opts.bundle).name} in {result.seconds:.1f}s: {carried} images, "
        f"{result.blobs_total} blobs ({human(result.bytes_total)}).")
    if opts.split_size and front > MEDIUM_RESERVE:
        say(f"note: the front is larger than the {human(MEDIUM_RESERVE)} a medium preset leaves beside part 000: "
            f"carry {opts.bundle.name} on a medium of its own")
    if result.fingerprint:
        say(f"Signed with key {result.fingerprint}.")
    if result.failed:
        report_failures(result.failed, say)
        say(f"The bundle is INCOMPLETE. Re-run the same command to fetch only what is missing "
            f"({cache_dir(opts.bundle).name} keeps what planning read).")
    elif clean_cache:
        shutil.rmtree(cache_dir(opts.bundle), ignore_errors=True)


def _load_signer(key: Path | None) -> Any:
    if key is None:
        return None
    from .bundle.signing import load_private_key

    return load_private_key(key)


def _copy_and_commit(opts: ExportOptions, source: OverlaySource, res: Resolution, images: list[PlannedImage],
                     requested: dict[str, Any], result: ExportResult, in_base: set[str], signer: Any,
                     say: Printer, bars: BarFactory, start: float, late: PlanAlongside | None = None) -> None:
    """Pull into the parts (bootstrap images first, what was planned alongside last), describe what
    arrived, commit."""
    planning = time.monotonic() - start
    first, rest = split_resolution(res, {str(img.pinned) for img in images if img.kind == "bootstrap"})
    writer, todo = _writer(opts, res, set(first.needs) - in_base, in_base)
    finish = Finish(opts.parity_percent, _signing(signer, result) if signer is not None else None)
    dest = BundleDestination(writer, in_base, finish)
    pull = bars("pull", todo)
    try:
        copy = _pull(source, dest, first, rest, opts.workers, pull.update)
        if late is not None:
            copy = _merged(copy, _pull_late(late, source, dest, res, images, in_base, result.base, opts.workers,
                                            pull.update, say))
    except BaseException as exc:
        dest.abort(exc)
        raise
    finally:
        pull.close()
    say(f"Pulled {copy.blobs_copied} blobs ({human(copy.bytes_copied)}) in {copy.seconds:.1f}s"
        + (f", {human(writer.resumed)} already in the parts from an earlier run" if writer.resumed else "")
        + f"; planning took {planning:.1f}s.")
    result.copy = copy
    result.failed = {**result.plan.failed, **copy.failed}
    ok = [img for img in images if str(img.pinned) not in copy.failed]
    trees = {str(job.source): copy.manifests[job.key] for job in res.jobs if str(job.source) not in copy.failed}
    meta = BundleMetadata(images=ok, failed=result.failed, records=result.plan.records, requested=dict(requested))
    if result.base is not None:
        meta.base, meta.from_base = result.base.record(), result.base.locations(trees, in_base)
    dest.describe(meta, trees)
    _commit(opts, dest, finish, todo, say, bars)
    assert dest.committed is not None
    result.blobs_total, result.bytes_total = meta.blobs, meta.blob_bytes
    result.parts = [(opts.bundle, dest.committed.front.sha256), *((p.path, p.sha256) for p in dest.committed.parts)]


def _writer(opts: ExportOptions, res: Resolution, first: set[str], in_base: set[str]) -> tuple[BundleWriter, int]:
    """Check the free space against what is left to pull (and the parity to write), then open the writer
    (continuing an earlier run's parts); returns it and the bytes to pull."""
    held = {e.digest for e in resumable(opts.bundle, opts.split_size, opts.zstd_level, first)}
    sizes = {d: max(n.size, 0) for d, n in res.needs.items() if d not in in_base}
    todo = sum(size for d, size in sizes.items() if d not in held)
    parity = sum(sizes.values()) * opts.parity_percent / 100 + (opts.split_size or 0) * bool(opts.parity_percent)
    check_free_space(opts.bundle, int(todo * 1.01 + parity))
    return BundleWriter(opts.bundle, opts.split_size, opts.zstd_level, first), todo


def _commit(opts: ExportOptions, dest: BundleDestination, finish: Finish, size: int, say: Printer,
            bars: BarFactory) -> None:
    say(f"Writing the front of {opts.bundle}" + (f" and {opts.parity_percent:g}% parity" if opts.parity_percent else "")
        + " ...")
    bar = bars("parity", size) if opts.parity_percent else None
    finish.on_parity = bar.update if bar is not None else None
    try:
        dest.commit()
    except BaseException as exc:
        dest.abort(exc)
        raise
    finally:
        if bar is not None:
            bar.close()


def _pull(source: OverlaySource, dest: BundleDestination, first: Resolution, rest: Resolution, workers: int,
          on_bytes: Any) -> CopyResult:
    """The bootstrap images' blobs, then (once they are in the parts) everything else."""
    a = CopyEngine(source, dest, workers, on_bytes=on_bytes).run(first)
    dest.drain()
    return _merged(a, CopyEngine(source, dest, workers, on_bytes=on_bytes).run(rest))


def _merged(a: CopyResult, b: CopyResult | None) -> CopyResult:
    """``b`` counting ``a`` too (``a`` when there is no ``b``)."""
    if b is None:
        return a
    for name in ("blobs_total", "bytes_total", "blobs_copied", "bytes_copied", "blobs_skipped", "blobs_mounted",
                 "manifests_pushed", "manifests_skipped", "seconds"):
        setattr(b, name, getattr(a, name) + getattr(b, name))
    b.manifests.update(a.manifests)
    b.failed.update(a.failed)
    return b


def _pull_late(late: PlanAlongside, source: OverlaySource, dest: BundleDestination, res: Resolution,
               images: list[PlannedImage], in_base: set[str], base: BaseContent | None, workers: int,
               on_bytes: Any, say: Printer) -> CopyResult | None:
    """The images planned while the pull ran (signatures): resolved and pulled now, and added to the plan's
    images and resolution (what a differential's base holds is not carried)."""
    found, warnings = late.result()
    for warning in warnings:
        say(f"warning: {warning}")
    if not found:
        return None
    extra = resolve(source, pull_jobs(found, late.ctx.plan.records), workers)
    if base is not None:
        in_base |= base.present([*extra.needs, *(m.digest for t in extra.trees.values() for m in t)])
    copy = CopyEngine(source, dest, workers, on_bytes=on_bytes).run(extra)
    res.jobs += extra.jobs
    res.trees.update(extra.trees)
    res.needs.update(extra.needs)
    res.failed.update(extra.failed)
    images[:] = late.ctx.plan.sorted_images()
    say(f"Signatures: {len(found)} sigstore image(s) found while pulling, {human(extra.bytes_total)}.")
    return copy


def _signing(key: Any, result: ExportResult) -> Any:
    from .bundle.signing import fingerprint, sign_bundle

    result.fingerprint = fingerprint(key.public_key())

    def sign(bundle: Path, sums: list[tuple[Path, str]], meta: BundleMetadata, front: Any) -> Path:
        return sign_bundle(key, bundle, sums, meta, front)

    return sign
