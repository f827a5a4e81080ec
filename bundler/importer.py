"""``bundler import``: stream a bundle into a registry, byte-exact, and write the install outputs.

The bundle is read once, in order: its front (metadata and every manifest) gives the whole plan; then each
blob is verified as it streams and pushed while it is read (HEAD first, cross-repository mount where it was
already pushed). Manifests are pushed last, children before lists, only after every part's checksum has
matched, so a corrupt or truncated bundle never leaves an image behind.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .auth import AuthStore, Credentials
from .bundle import BundleSource, ImageRecord
from .content import renderers
from .engine import CopyEngine, CopyResult, ImageJob
from .landing import digest_tag, plan_landing  # noqa: F401 - digest_tag: importable from here as before
from .mapping import split_target
from .outputs import MirroredImage, OutputContext, render_all, render_mirrors
from .progress import BarFactory, Printer, human, no_bars
from .pullsecret import write_pull_secret
from .registry import ConnectOptions, RegistryClient, RegistryPool
from .transport.registry import RegistryDestination, RegistrySource


@dataclass
class ImportOptions:
    bundle: Path
    registry: str
    outdir: Path
    authfile: Path | None = None
    ca_file: Path | None = None
    workers: int = 8
    credentials: Credentials | None = None  # set by the Quay bootstrap (robot account)
    max_nested_paths: int = 0
    connect: ConnectOptions = field(default_factory=ConnectOptions)
    pull_secret: Path | None = None


@dataclass
class ImportResult:
    copy: CopyResult
    images: list[MirroredImage] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    missing_from_bundle: dict[str, str] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def plan_jobs(images: list[ImageRecord], registry: str, records: dict[str, Any] | None = None,
              max_nested: int = 0) -> tuple[list[ImageJob], dict[str, str]]:
    """One job per target of every carried image (the registry's own images excluded, :mod:`bundler.landing`),
    and the mapping source repository -> mirror repository."""
    landing = plan_landing(images, registry, records, max_nested)
    return landing.jobs, landing.repositories


def run_import(opts: ImportOptions, say: Printer = print, bars: BarFactory = no_bars,
               source: BundleSource | None = None) -> ImportResult:
    start = time.monotonic()
    source = source or BundleSource.open(opts.bundle)
    meta = source.metadata
    host, _ = split_target(opts.registry)
    auth = AuthStore.load(opts.authfile)
    client = RegistryClient(host, auth, opts.ca_file, credentials=opts.credentials, options=opts.connect)
    client.ping()
    landing = plan_landing(meta.images, opts.registry, meta.records, opts.max_nested_paths)
    jobs, mapping = landing.jobs, landing.repositories
    bar = bars("push", source.reader.total_bytes)
    last = [source.reader.bytes_read]

    def on_bytes(_: int) -> None:
        now = source.reader.bytes_read
        bar.update(now - last[0])
        last[0] = now

    say(f"Importing {len(jobs)} images ({human(meta.blob_bytes)}) from {opts.bundle} into {opts.registry} ...")
    try:
        copy = CopyEngine(source, RegistryDestination(client), opts.workers, on_bytes=on_bytes).run(jobs)
    finally:
        bar.close()
        source.close()
    result = ImportResult(copy=copy, failed=dict(copy.failed), missing_from_bundle=dict(meta.failed))
    result.images = landing.mirrored(copy.failed)
    octx = OutputContext(outdir=opts.outdir, registry=opts.registry, images=result.images, records=meta.records,
                         mirror=RegistrySource(RegistryPool.of(client)))
    result.outputs = render_all(octx, [render_mirrors, *renderers()])
    for note in octx.notes:
        say(note)
    if opts.credentials is None:  # a bootstrapped registry writes its own (robot accounts)
        secret = write_pull_secret(opts.outdir, opts.registry, client.credentials, opts.pull_secret)
        result.outputs += [secret] if secret is not None else []
        if secret is None and opts.pull_secret is not None:
            say(f"warning: no credentials for {host} in the auth file: pull-secret.json not written")
    result.seconds = time.monotonic() - start
    report = opts.outdir / "report.json"
    report.write_text(json.dumps(_report(result, opts, mapping), indent=2) + "\n")
    result.outputs.append(report)
    _summary(result, opts, say)
    return result


def _summary(result: ImportResult, opts: ImportOptions, say: Printer) -> None:
    c = result.copy
    say(f"Pushed {c.blobs_copied} blobs ({human(c.bytes_copied)}), mounted {c.blobs_mounted}, "
        f"skipped {c.blobs_skipped} already present; {c.manifests_pushed} manifests pushed, "
        f"{c.manifests_skipped} already present; {result.seconds:.1f}s.")
    say(f"Outputs in {opts.outdir}: " + ", ".join(p.name for p in result.outputs))
    if result.missing_from_bundle:
        say(f"WARNING: the bundle lacks {len(result.missing_from_bundle)} image(s) that failed at export:")
        for ref in sorted(result.missing_from_bundle):
            say(f"  - {ref}")
    if result.failed:
        say(f"FAILED: {len(result.failed)} image(s) were not imported:")
        for ref, msg in sorted(result.failed.items()):
            say(f"  - {ref}: {msg}")


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
        "missingFromBundle": [{"reference": k, "error": v} for k, v in sorted(result.missing_from_bundle.items())],
        "seconds": round(result.seconds, 3),
    }


def verify_bundle(bundle: Path, say: Printer = print) -> dict[str, int]:
    """Check every part against BUNDLE.sha256 and every blob against its digest (the same stream checks an
    import makes, with nowhere to push)."""
    source = BundleSource.open(bundle)  # the front's manifests are checked as they load
    reader = source.reader
    if any(expected is None for _, expected in reader.parts):
        say(f"warning: no {bundle.name}.sha256 beside the bundle; only blob digests are checked")
    blobs, total = len(source.manifests), sum(len(m.data) for m in source.manifests.values())
    try:
        for blob in source.stream_blobs():
            for _ in blob.chunks:
                pass
            blobs += 1
            total += blob.size
    finally:
        source.close()
    say(f"OK: {len(reader.parts)} part(s) match their checksums; {blobs} blobs ({human(total)}) match their "
        f"digests, {len(source.manifests)} of them manifests.")
    return {"parts": len(reader.parts), "blobs": blobs, "bytes": total}
