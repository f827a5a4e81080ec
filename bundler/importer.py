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
from .bundle.receipt import Receipt
from .bundle.signing import Signed
from .content import renderers
from .engine import CopyEngine, CopyResult, ImageJob, Resolution, resolve
from .landing import digest_tag, plan_landing  # noqa: F401 - digest_tag: importable from here as before
from .mapping import split_target
from .outputs import MirroredImage, OutputContext, listing, render_all, render_mirrors
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
    verify_keys: list[Any] = field(default_factory=list)  # Ed25519 public keys: one of them must have signed


@dataclass
class ImportResult:
    copy: CopyResult
    images: list[MirroredImage] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    missing_from_bundle: dict[str, str] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    receipt: Receipt | None = None


def plan_jobs(images: list[ImageRecord], registry: str, records: dict[str, Any] | None = None,
              max_nested: int = 0) -> tuple[list[ImageJob], dict[str, str]]:
    """One job per target of every carried image (the registry's own images excluded, :mod:`bundler.landing`),
    and the mapping source repository -> mirror repository."""
    landing = plan_landing(images, registry, records, max_nested)
    return landing.jobs, landing.repositories


def run_import(opts: ImportOptions, say: Printer = print, bars: BarFactory = no_bars,
               source: BundleSource | None = None, signed: Signed | None = None) -> ImportResult:
    """``source`` (with the ``signed`` it was checked against) when the caller already opened the bundle."""
    start = time.monotonic()
    from .verify import open_checked

    if source is None:
        source, signed = open_checked(opts.bundle, opts.verify_keys)
    meta = source.metadata
    receipt = Receipt.start(source.reader, meta, signed)
    host, _ = split_target(opts.registry)
    auth = AuthStore.load(opts.authfile)
    client = RegistryClient(host, auth, opts.ca_file, credentials=opts.credentials, options=opts.connect)
    client.ping()
    landing = plan_landing(meta.images, opts.registry, meta.records, opts.max_nested_paths)
    jobs, mapping = landing.jobs, landing.repositories
    work, base_copy = _resolve(source, client, jobs, opts, receipt, say)
    bar = bars("push", source.reader.total_bytes)
    last = [source.reader.bytes_read]

    def on_bytes(_: int) -> None:
        now = source.reader.bytes_read
        bar.update(now - last[0])
        last[0] = now

    say(f"Importing {len(jobs)} images ({human(meta.blob_bytes)}) from {opts.bundle} into {opts.registry} ...")
    try:
        copy = CopyEngine(work[0], RegistryDestination(client), opts.workers, on_bytes=on_bytes).run(work[1])
    finally:
        bar.close()
        source.close()
    if base_copy is not None:
        copy.blobs_skipped += base_copy.blobs_skipped - base_copy.blobs_total
        copy.blobs_mounted += base_copy.blobs_mounted
        copy.blobs_copied += base_copy.blobs_copied
    result = ImportResult(copy=copy, failed=dict(copy.failed), missing_from_bundle=dict(meta.failed), receipt=receipt)
    receipt.manifests, receipt.blobs, receipt.bytes = len(source.manifests), source.blobs_read, source.bytes_streamed
    receipt.rebuilt = list(source.reader.rebuilt)
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
    result.outputs += [report, receipt.write(opts.outdir / "receipt.json")]
    for line in receipt.lines():
        say(line)
    _summary(result, opts, say)
    return result


def _resolve(source: BundleSource, client: RegistryClient, jobs: list[ImageJob], opts: ImportOptions,
             receipt: Receipt, say: Printer) -> tuple[tuple[Any, Resolution], CopyResult | None]:
    """What the engine streams: for a differential, first check the base is in the registry (refusing
    before anything is pushed), take its manifests from the mirror and place its blobs."""
    if not source.metadata.base:
        return (source, resolve(source, jobs, opts.workers)), None
    from .import_base import BaseLocations, MirrorManifests, place_base_blobs

    where = BaseLocations(source.metadata, opts.registry)
    say(f"Differential bundle: checking that {opts.registry} holds its base "
        f"({source.metadata.base.get('name')}) ...")
    receipt.base_checked = where.check(client, opts.workers)
    seen = MirrorManifests(source, client, where)
    res = resolve(seen, jobs, opts.workers)
    return (seen, res), place_base_blobs(res, where, client, opts.workers)


def _summary(result: ImportResult, opts: ImportOptions, say: Printer) -> None:
    c = result.copy
    say(f"Pushed {c.blobs_copied} blobs ({human(c.bytes_copied)}), mounted {c.blobs_mounted}, "
        f"skipped {c.blobs_skipped} already present; {c.manifests_pushed} manifests pushed, "
        f"{c.manifests_skipped} already present; {result.seconds:.1f}s.")
    say(listing(opts.outdir, result.outputs))
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
