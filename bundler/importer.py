"""``bundler import``: stream a bundle into a registry, byte-exact, and write the install outputs.

The bundle is read once, in order: its front (index, metadata, every manifest) gives the whole plan;
then each blob is verified as it streams and pushed while it is read (HEAD first, cross-repository
mount where it was already pushed). Manifests are pushed last, children before lists, only after
every part's checksum has matched, so a corrupt or truncated bundle never leaves an image behind.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .archive import BundleReader
from .auth import AuthStore, Credentials
from .copy import CopyEngine, CopyResult, ImageJob
from .errors import BundlerError
from .export import human
from .outputs import MirroredImage, OutputContext, render_all
from .reference import mirror_repositories, parse, split_target
from .registry import RegistryClient
from .transports import BundleSource, RegistryDestination

Printer = Callable[[str], None]


@dataclass
class ImportOptions:
    bundle: Path
    registry: str
    outdir: Path
    authfile: Path | None = None
    ca_file: Path | None = None
    workers: int = 8
    credentials: Credentials | None = None  # set by the Quay bootstrap (robot account)
    progress: bool | None = None


@dataclass
class ImportResult:
    copy: CopyResult
    images: list[MirroredImage] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    missing_from_bundle: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def digest_tag(digest: str) -> str:
    """A tag for images carried by digest only, so registries that collect untagged manifests
    (Quay) keep them. Tags are at most 128 characters: ``sha256-<64 hex>`` is 71."""
    return digest.replace(":", "-")


def plan_jobs(images: list[dict[str, Any]], registry: str) -> tuple[list[ImageJob], dict[str, str]]:
    """One job per carried image, and the mapping source repository -> mirror repository."""
    pushable = [e for e in images if e["kind"] != "bootstrap"]
    mapping = mirror_repositories(sorted({e["name"] for e in pushable}), registry)
    host, _ = split_target(registry)
    jobs = []
    for e in pushable:
        src = parse(e["name"]).with_tag(None).with_digest(e["digest"])
        tags = list(e.get("tags") or [])
        if not tags:
            tags.append(digest_tag(e["digest"]))
        jobs.append(ImageJob(source=src, target=mapping[e["name"]][len(host) + 1:], tags=tuple(tags)))
    return jobs, mapping


def open_bundle(bundle: Path) -> BundleSource:
    """Open a bundle as a stream source with its manifests (the front of the archive) loaded."""
    reader = BundleReader(bundle)
    source = BundleSource(reader)
    source.load_manifests(list(reader.metadata.get("manifests") or []))
    return source


def run_import(opts: ImportOptions, say: Printer = print, source: BundleSource | None = None) -> ImportResult:
    start = time.monotonic()
    source = source or open_bundle(opts.bundle)
    source.drain = True
    reader = source.reader
    meta = reader.metadata
    images: list[dict[str, Any]] = list(meta.get("images") or [])
    host, _ = split_target(opts.registry)
    auth = AuthStore.load(opts.authfile)
    client = RegistryClient(host, auth, opts.ca_file, credentials=opts.credentials)
    client.ping()
    jobs, mapping = plan_jobs(images, opts.registry)
    show = opts.progress if opts.progress is not None else sys.stderr.isatty()
    bar = tqdm(total=reader.total_bytes, unit="B", unit_scale=True, unit_divisor=1024, desc="push",
               file=sys.stderr) if show else None
    last = [0]

    def on_bytes(_: int) -> None:
        if bar is not None:
            now = reader.bytes_read
            bar.update(now - last[0])
            last[0] = now

    say(f"Importing {len(jobs)} images ({human(meta.get('bytes', 0))}) from {opts.bundle} into {opts.registry} ...")
    engine = CopyEngine(source, RegistryDestination(client), opts.workers, on_bytes=on_bytes)
    try:
        copy = engine.run(jobs)
    finally:
        if bar is not None:
            bar.close()
        reader.close()
    result = ImportResult(copy=copy, failed=dict(copy.failed))
    result.missing_from_bundle = list(meta.get("failed") or [])
    by_key = {str(job.source): job for job in jobs}
    for e in images:
        if e["kind"] == "bootstrap":
            continue
        pinned = str(parse(e["name"]).with_tag(None).with_digest(e["digest"]))
        if pinned in copy.failed:
            continue
        job = by_key[pinned]
        result.images.append(MirroredImage(
            kind=e["kind"], source=parse(e["source"]), digest=e["digest"], mirror_repo=mapping[e["name"]],
            tags=list(job.tags), label=e.get("label", ""), rebuilt_from=e.get("rebuiltFrom"), entry=e,
        ))
    octx = OutputContext(outdir=opts.outdir, registry=opts.registry, images=result.images, metadata=meta)
    result.outputs = render_all(octx)
    result.seconds = time.monotonic() - start
    report = _report(result, opts, mapping)
    (opts.outdir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    result.outputs.append(opts.outdir / "report.json")
    say(f"Pushed {copy.blobs_copied} blobs ({human(copy.bytes_copied)}), mounted {copy.blobs_mounted}, "
        f"skipped {copy.blobs_skipped} already present; {copy.manifests_pushed} manifests pushed, "
        f"{copy.manifests_skipped} already present; {result.seconds:.1f}s.")
    say(f"Outputs in {opts.outdir}: " + ", ".join(p.name for p in result.outputs))
    if result.missing_from_bundle:
        say(f"WARNING: the bundle lacks {len(result.missing_from_bundle)} image(s) that failed at export:")
        for item in result.missing_from_bundle:
            say(f"  - {item['reference']}")
    if result.failed:
        say(f"FAILED: {len(result.failed)} image(s) were not imported:")
        for ref, msg in sorted(result.failed.items()):
            say(f"  - {ref}: {msg}")
    return result


def _report(result: ImportResult, opts: ImportOptions, mapping: dict[str, str]) -> dict[str, Any]:
    c = result.copy
    return {
        "bundle": str(opts.bundle),
        "registry": opts.registry,
        "images": [{"kind": i.kind, "source": str(i.source), "digest": i.digest, "mirror": i.mirror_ref,
                    "mirrorByDigest": i.mirror_by_digest, "tags": i.tags} for i in result.images],
        "repositories": mapping,
        "blobs": {"total": c.blobs_total, "pushed": c.blobs_copied, "mounted": c.blobs_mounted,
                  "skipped": c.blobs_skipped},
        "bytes": {"total": c.bytes_total, "pushed": c.bytes_copied},
        "manifests": {"pushed": c.manifests_pushed, "skipped": c.manifests_skipped},
        "failed": [{"reference": k, "error": v} for k, v in sorted(result.failed.items())],
        "missingFromBundle": result.missing_from_bundle,
        "seconds": round(result.seconds, 3),
    }


def verify_bundle(bundle: Path, say: Printer = print) -> dict[str, int]:
    """Check every part against BUNDLE.sha256 and every blob against its digest (the same stream
    checks an import makes, with nowhere to push)."""
    source = open_bundle(bundle)  # the front's manifests are checked as they load
    reader = source.reader
    if any(expected is None for _, expected in reader.parts):
        say(f"warning: no {bundle.name}.sha256 beside the bundle; only blob digests are checked")
    blobs, total = len(source.manifests), sum(len(m.data) for m in source.manifests.values())
    try:
        for _digest, size, chunks in source.stream_blobs():
            for _ in chunks:
                pass
            blobs += 1
            total += size
    finally:
        reader.close()
    say(f"OK: {len(reader.parts)} part(s) match their checksums; {blobs} blobs ({human(total)}) match their "
        f"digests, {len(source.manifests)} of them manifests.")
    return {"parts": len(reader.parts), "blobs": blobs, "bytes": total}


__all__ = ["ImportOptions", "ImportResult", "run_import", "verify_bundle", "BundlerError"]
