"""``bundler export``: config -> plan -> registry-to-layout copy -> tar+zstd bundle.

The work directory ``BUNDLE.work/`` is an OCI layout whose blobs are only ever complete and
verified, so an interrupted export re-run with the same arguments fetches only what is missing.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import __version__, config, mediatypes
from .archive import checksum_path, pack
from .auth import AuthStore
from .content import run_planners
from .copy import CopyEngine, CopyResult, ImageJob
from .errors import BundlerError, DiskError
from .layout import METADATA_FILE, OCILayout, index_entry
from .plan import KINDS, Plan, PlanContext, PlannedImage
from .registry import RegistryPool
from .registry.client import Manifest
from .transports import CachedSource, LayoutDestination, RegistrySource

Printer = Callable[[str], None]


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
    progress: bool | None = None  # None: bars only on a terminal
    zstd_level: int = 1  # layers are already compressed: level 1 is as small as 3 on them, and faster


@dataclass
class ExportResult:
    plan: Plan
    copy: CopyResult | None = None
    parts: list[tuple[Path, str]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    bytes_total: int = 0
    blobs_total: int = 0


def work_dir(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".work")


def check_writable(bundle: Path) -> None:
    """Fail before any download when the bundle cannot be written where asked."""
    parent = bundle.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".{bundle.name}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DiskError(f"cannot write the bundle to {parent}: {exc.strerror}", "choose a writable -o path") from None
    if bundle.is_dir():
        raise DiskError(f"{bundle} is a directory", "give -o a file name such as out/ocp.tar.zst")


def sorted_images(images: list[PlannedImage]) -> list[PlannedImage]:
    return sorted(images, key=lambda i: (KINDS.index(i.kind) if i.kind in KINDS else 99, str(i.source)))


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def run_export(opts: ExportOptions, say: Printer = print) -> ExportResult:
    start = time.monotonic()
    try:
        cfg = config.load(opts.config_path)
    except config.ConfigLoadError as exc:  # its warnings often explain it: print them first
        for warning in exc.warnings:
            say(f"warning: {warning}")
        raise
    for warning in cfg.warnings:
        say(f"warning: {warning}")
    if not opts.dry_run:
        check_writable(opts.bundle)
    auth = AuthStore.load(opts.authfile)
    work = work_dir(opts.bundle)
    scratch: tempfile.TemporaryDirectory[str] | None = None
    if opts.dry_run and not work.exists():
        # a dry run stores nothing where the bundle goes; images planners build (a pruned catalog) go here
        scratch = tempfile.TemporaryDirectory(prefix="bundler-dry-run-")
        layout = OCILayout(scratch.name)
    else:
        layout = OCILayout(work)
    try:
        return _export(opts, cfg, auth, work, layout, start, say)
    finally:
        if scratch is not None:
            scratch.cleanup()


def _export(opts: ExportOptions, cfg: config.ImageSetConfig, auth: AuthStore, work: Path, layout: OCILayout,
            start: float, say: Printer) -> ExportResult:
    source = CachedSource(layout, RegistrySource(RegistryPool(auth, opts.ca_file)), keep=not opts.dry_run)
    plan = Plan()
    ctx = PlanContext(config=cfg, source=source, layout=layout, plan=plan, workers=opts.workers)
    say(f"Planning from {opts.config_path} ...")
    run_planners(ctx)
    for warning in plan.warnings:
        say(f"warning: {warning}")
    images = sorted_images(plan.images)
    if not images:
        details = "; ".join(f"{ref}: {msg}" for ref, msg in plan.failed.items())
        raise BundlerError(f"nothing to export: every image failed ({details})")
    jobs = [ImageJob(source=img.pinned) for img in images]
    source.keep = False  # from here the engine stores each blob itself; keeping it too would write it twice
    result = ExportResult(plan=plan)
    show = opts.progress if opts.progress is not None else sys.stderr.isatty()
    bar: Any = None

    def on_plan(blobs: int, total: int) -> None:
        nonlocal bar
        say(plan_summary(images, blobs, total))
        if show:
            bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="pull", file=sys.stderr)

    engine = CopyEngine(source, _DryDest() if opts.dry_run else LayoutDestination(layout), opts.workers,
                        on_bytes=lambda n: bar.update(n) if bar else None, on_plan=on_plan)
    if opts.dry_run:
        copy = CopyResult()
        needs = engine.resolve(jobs, copy)
        on_plan(copy.blobs_total, copy.bytes_total)
        have = sum(max(n.size, 0) for n in needs.values() if layout.root.exists() and layout.has_blob(n.digest, n.size))
        if have:
            say(f"  already in {work}: {human(have)} (a re-run fetches only the rest)")
        result.failed = {**plan.failed, **copy.failed}
        result.copy = copy
        _report_failures(result.failed, say)
        return result
    try:
        copy = engine.run(jobs)
    finally:
        if bar:
            bar.close()
    say(f"Pulled {copy.blobs_copied} blobs ({human(copy.bytes_copied)}) in {copy.seconds:.1f}s"
        + (f", {copy.blobs_skipped} already in {work.name}" if copy.blobs_skipped else "")
        + f"; planning took {time.monotonic() - start - copy.seconds:.1f}s.")
    result.copy = copy
    result.blobs_total, result.bytes_total = copy.blobs_total, copy.bytes_total
    result.failed = {**plan.failed, **copy.failed}
    ok = [img for img in images if str(img.pinned) not in copy.failed]
    entries, metadata = _index_and_metadata(cfg, ok, copy, jobs, result.failed, plan)
    layout.write_index(entries)
    layout.write_json(METADATA_FILE, metadata)
    say(f"Packing {len(ok)} images into {opts.bundle}{' (split)' if opts.split_size else ''} ...")
    pack_bar = tqdm(total=metadata["bytes"], unit="B", unit_scale=True, unit_divisor=1024, desc="pack",
                    file=sys.stderr) if show else None
    try:
        result.parts = pack(layout, opts.bundle, metadata["manifests"] + metadata["bootstrapBlobs"],
                            metadata["otherBlobs"], opts.split_size, opts.zstd_level, pack_bar)
    finally:
        if pack_bar:
            pack_bar.close()
    result.seconds = time.monotonic() - start
    size = sum(p.stat().st_size for p, _ in result.parts)
    say(f"Wrote {len(result.parts)} part(s), {human(size)}, and {checksum_path(opts.bundle).name} "
        f"in {result.seconds:.1f}s: {len(ok)} images, {metadata['blobs']} blobs ({human(metadata['bytes'])}).")
    if result.failed:
        _report_failures(result.failed, say)
        say(f"The bundle is INCOMPLETE. {work} is kept: re-run the same command to fetch only what is missing.")
    elif not opts.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return result


def plan_summary(images: list[PlannedImage], blobs: int, total: int) -> str:
    counts: dict[str, int] = {}
    for img in images:
        counts[img.kind] = counts.get(img.kind, 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: KINDS.index(kv[0])
                                                     if kv[0] in KINDS else 99))
    return f"Plan: {len(images)} images ({kinds}); {blobs} unique blobs, {human(total)} ({total} bytes)"


def _report_failures(failed: dict[str, str], say: Printer) -> None:
    if failed:
        say(f"FAILED: {len(failed)} image(s):")
        for ref, msg in sorted(failed.items()):
            say(f"  - {ref}: {msg}")


class _DryDest:
    """A destination that has nothing and accepts nothing (dry runs only resolve)."""

    def has_blob(self, target: str, digest: str, size: int) -> bool:
        return False

    def put_blob(self, target: str, digest: str, size: int, chunks: Iterator[bytes]) -> None:
        raise AssertionError("dry run")

    def mount_blob(self, target: str, digest: str, from_target: str) -> bool:
        return False

    def iter_blob(self, target: str, digest: str, size: int) -> Iterator[bytes]:
        raise AssertionError("dry run")

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool:
        return True

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        raise AssertionError("dry run")


def _index_and_metadata(cfg: config.ImageSetConfig, images: list[PlannedImage], copy: CopyResult,
                        jobs: list[ImageJob], failed: dict[str, str], plan: Plan) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    by_source = {str(job.source): job.key for job in jobs}
    entries: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    manifests: list[str] = []
    bootstrap_blobs: list[str] = []
    other_blobs: list[str] = []
    sizes: dict[str, int] = {}
    seen: set[str] = set()
    for img in images:
        tree = copy.manifests[by_source[str(img.pinned)]]
        top = tree[-1]
        image_bytes = 0
        for m in tree:
            image_bytes += len(m.data)
            if m.digest not in seen:
                seen.add(m.digest)
                manifests.append(m.digest)
            if m.is_list:
                continue
            for desc in mediatypes.blobs(m.doc):
                d = desc["digest"]
                image_bytes += int(desc.get("size", 0))
                if d not in sizes:
                    sizes[d] = int(desc.get("size", 0))
                    (bootstrap_blobs if img.kind == "bootstrap" else other_blobs).append(d)
        entries.append(index_entry(top.media_type, top.digest, len(top.data), str(img.source),
                                   {"io.bundler.kind": img.kind}))
        doc = img.to_json()
        doc["mediaType"] = top.media_type
        doc["size"] = image_bytes
        docs.append(doc)
    metadata = {
        "schemaVersion": 1,
        "kind": "BundlerBundle",
        "bundlerVersion": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "requested": {"path": str(cfg.path), "imageSetConfiguration": cfg.raw},
        "images": docs,
        "failed": [{"reference": ref, "error": msg} for ref, msg in sorted(failed.items())],
        "blobs": len(sizes),
        "bytes": sum(sizes.values()),
        "manifests": manifests,
        "bootstrapBlobs": bootstrap_blobs,
        "otherBlobs": other_blobs,
        "extra": plan.extra,
    }
    return entries, metadata
