"""``bundler mirror``: mirror-to-mirror, for a site that reaches both the upstream and the mirror. The same
configuration, planners, engine and outputs as export + import, with no bundle in between: registry (and
``oci://`` layouts) -> registry, every blob verified as it streams, manifests byte-exact.

Images the planners build (pruned catalogs) come from memory; everything else streams from the upstream
straight into the mirror (cross-repository mounts where the mirror already holds a blob).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .auth import AuthStore
from .content import plan_all, renderers
from .engine import CopyEngine, CopyResult, resolve
from .errors import BundlerError
from .export import load_config, plan_summary, report_failures, say_plan_messages
from .landing import Landing, plan_landing
from .mapping import split_target
from .outputs import MirroredImage, OutputContext, listing, render_all, render_mirrors
from .plan import Plan, PlanContext
from .progress import BarFactory, Printer, human, no_bars
from .pullsecret import write_pull_secret
from .registry import ConnectOptions, RegistryClient, RegistryPool
from .release_options import ReleaseOptions
from .sources import with_layouts
from .transport.overlay import OverlaySource
from .transport.registry import RegistryDestination, RegistrySource


@dataclass
class MirrorOptions:
    config_path: Path
    registry: str
    outdir: Path
    authfile: Path | None = None
    ca_file: Path | None = None
    workers: int = 8
    dry_run: bool = False
    max_nested_paths: int = 0
    pull_secret: Path | None = None
    src: ConnectOptions = field(default_factory=ConnectOptions)
    dest: ConnectOptions = field(default_factory=ConnectOptions)
    release: ReleaseOptions = field(default_factory=ReleaseOptions)


@dataclass
class MirrorResult:
    plan: Plan
    landing: Landing
    copy: CopyResult | None = None
    images: list[MirroredImage] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def run_mirror(opts: MirrorOptions, say: Printer = print, bars: BarFactory = no_bars) -> MirrorResult:
    start = time.monotonic()
    cfg = load_config(opts.config_path, say)
    auth = AuthStore.load(opts.authfile)
    pool = RegistryPool(auth, opts.ca_file, opts.src)
    upstream = with_layouts(RegistrySource(pool), cfg)
    ctx = PlanContext(config=cfg, source=upstream, plan=Plan(), workers=opts.workers, pool=pool,
                      release=replace(opts.release, ca_file=opts.release.ca_file or opts.ca_file))
    say(f"Planning from {opts.config_path} ...")
    plan_all(ctx)
    say_plan_messages(ctx.plan, say)
    images = [img for img in ctx.plan.sorted_images() if img.kind != "bootstrap"]
    if not images:
        details = "; ".join(f"{ref}: {msg}" for ref, msg in ctx.plan.failed.items())
        raise BundlerError(f"nothing to mirror: every image failed ({details})")
    landing = plan_landing(images, opts.registry, ctx.plan.records, opts.max_nested_paths)
    source = OverlaySource(upstream, [ctx.store])
    res = resolve(source, landing.jobs, opts.workers)
    result = MirrorResult(plan=ctx.plan, landing=landing, failed={**ctx.plan.failed, **res.failed})
    say(plan_summary(images, res.blobs_total, res.bytes_total))
    if opts.dry_run:
        for img, repo, job in landing.placed:
            say(f"  {img.source} -> {repo}:{','.join(job.tags)}")
        report_failures(result.failed, say)
        return result
    host, _ = split_target(opts.registry)
    client = RegistryClient(host, auth, opts.ca_file, options=opts.dest)
    client.ping()
    say(f"Mirroring {len(images)} images ({human(res.bytes_total)}) into {opts.registry} ...")
    bar = bars("mirror", res.bytes_total)
    try:
        copy = CopyEngine(source, RegistryDestination(client), opts.workers, on_bytes=bar.update).run(res)
    finally:
        bar.close()
    result.copy = copy
    result.failed = {**ctx.plan.failed, **copy.failed}
    result.images = landing.mirrored(copy.failed)
    octx = OutputContext(outdir=opts.outdir, registry=opts.registry, images=result.images,
                         records=json.loads(json.dumps(ctx.plan.records)), mirror=RegistrySource(RegistryPool.of(client)))
    result.outputs = render_all(octx, [render_mirrors, *renderers()])
    for note in octx.notes:
        say(note)
    secret = write_pull_secret(opts.outdir, opts.registry, client.credentials, opts.pull_secret)
    result.outputs += [secret] if secret is not None else []
    result.seconds = time.monotonic() - start
    report = opts.outdir / "report.json"
    report.write_text(json.dumps(_report(result, opts), indent=2) + "\n")
    result.outputs.append(report)
    _summary(result, opts, say)
    return result


def _summary(result: MirrorResult, opts: MirrorOptions, say: Printer) -> None:
    c = result.copy
    assert c is not None
    say(f"Copied {c.blobs_copied} blobs ({human(c.bytes_copied)}), mounted {c.blobs_mounted}, "
        f"skipped {c.blobs_skipped} already present; {c.manifests_pushed} manifests pushed, "
        f"{c.manifests_skipped} already present; {result.seconds:.1f}s.")
    say(listing(opts.outdir, result.outputs))
    report_failures(result.failed, say)


def _report(result: MirrorResult, opts: MirrorOptions) -> dict[str, Any]:
    c = result.copy
    assert c is not None
    return {
        "config": str(opts.config_path),
        "registry": opts.registry,
        "images": [{"kind": i.kind, "source": str(i.source), "digest": i.digest, "mirror": i.mirror_ref,
                    "mirrorByDigest": i.mirror_by_digest, "tags": i.tags} for i in result.images],
        "repositories": result.landing.repositories,
        "flattened": result.landing.flattened,
        "blobs": {"total": c.blobs_total, "pushed": c.blobs_copied, "mounted": c.blobs_mounted,
                  "skipped": c.blobs_skipped},
        "bytes": {"total": c.bytes_total, "pushed": c.bytes_copied},
        "manifests": {"pushed": c.manifests_pushed, "skipped": c.manifests_skipped},
        "failed": [{"reference": k, "error": v} for k, v in sorted(result.failed.items())],
        "seconds": round(result.seconds, 3),
    }
