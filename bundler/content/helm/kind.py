"""The ``helm`` content kind: every chart of ``mirror.helm``, the images it deploys, and the chart itself
as an OCI Helm chart image, so ``helm install oci://MIRROR/...`` works inside the air gap.

Export (:func:`plan`): fetch each chart (:mod:`.fetch`), find its images with default values plus its
``imagePaths`` (:func:`.images.find_images`), pin each as a ``helm-image``; carry the chart as a
``helm-chart`` image laid out as ``helm push`` does (built in memory from the archive, or the upstream
manifest of an OCI chart as it is). Each expression that could not be evaluated is a warning naming the
chart, template file and line; an image text that is not an image reference fails that image. The record
(``records["helm"]``) lists each chart with its images for the import side.

Import (:func:`.outputs.render`): ``helm-charts.yaml``, each chart's mirror location and install line; the
core IDMS/ITMS cover the charts' images (planned images like any other).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...config import HelmChart, HelmSpec
from ...errors import BundlerError, ConfigError
from ...oci import Manifest, parse
from ...oci.image import BuiltImage
from ...plan import PlanContext, PlannedImage
from .fetch import FetchedChart, fetch_all
from .images import ChartImages, FoundImage, Problem, find_images
from .jsonpath import JSONPath, JSONPathError
from .oci_chart import MANIFEST_MEDIA_TYPE, build_oci_chart, digest_of
from .outputs import NAME

CHART_KIND = "helm-chart"
IMAGE_KIND = "helm-image"


def check_image_paths(spec: HelmSpec) -> None:
    """Every ``imagePaths`` entry is JSONPath the evaluator runs: a ConfigError naming file, line and field."""
    charts: list[HelmChart] = [c for r in spec.repositories for c in (r.charts or [])] + list(spec.local)
    for chart in charts:
        for i, text in enumerate(chart.image_paths):
            try:
                JSONPath(text)
            except JSONPathError as exc:
                raise ConfigError(f"{chart.where}.imagePaths[{i}]: {text!r} is not JSONPath: {exc}",
                                  'write client-go JSONPath, e.g. "{.spec.template.spec.containers[*].env[*].value}"'
                                  ) from exc


def plan(ctx: PlanContext) -> None:
    spec = ctx.config.helm
    if not spec:
        return
    check_image_paths(spec)
    records: list[dict[str, Any]] = []
    for label, got in fetch_all(spec.repositories, spec.local, ctx.source, ctx.pool):
        if isinstance(got, BundlerError):
            ctx.plan.fail(label, str(got))
            continue
        try:
            found = find_images(got.chart, got.spec.image_paths)
        except BundlerError as exc:       # a chart helm itself refuses before rendering
            ctx.plan.fail(label, f"{got.origin}: {exc}")
            continue
        records.append(_plan_chart(ctx, got, found))
    ctx.plan.records[NAME] = records
    resolved = sum(1 for r in records if r["fullyResolved"])
    _note(ctx, f"Helm: {len(records)} chart(s) planned, {resolved} fully resolved"
               + (f"; {len(records) - resolved} with expressions or documents that could not be evaluated (see the "
                  "warnings: their images may be incomplete)" if resolved < len(records) else ""))


def _note(ctx: PlanContext, text: str) -> None:
    """An information line the export prints (``Plan.notes``; a warning where a plan has no notes)."""
    notes = getattr(ctx.plan, "notes", None)
    (notes if isinstance(notes, list) else ctx.plan.warnings).append(text)


def _plan_chart(ctx: PlanContext, fc: FetchedChart, found: ChartImages) -> dict[str, Any]:
    chart_image = _carry_chart(ctx, fc)
    images = _pin_images(ctx, fc, found.images)
    _report(ctx, fc, found)
    return {
        "name": fc.chart.name, "version": fc.chart.version, "repository": fc.repository, "origin": fc.origin,
        "source": str(fc.source), "sourceName": fc.source.name, "tag": fc.source.tag or "",
        "digest": chart_image.digest, "archiveDigest": digest_of(fc.archive),
        "fullyResolved": found.fully_resolved, "problems": [_problem_text(p) for p in found.problems],
        "images": images, "optional": [i.reference for i in found.optional],
        "platforms": [str(p) for p in fc.spec.platforms],
    }


def _carry_chart(ctx: PlanContext, fc: FetchedChart) -> PlannedImage:
    """The chart as an OCI Helm chart image: the upstream manifest of an OCI chart as it is, else built as
    ``helm push`` lays it out and kept in the planning memory store (its digest does not exist upstream)."""
    tags = [fc.source.tag] if fc.source.tag else []
    if fc.manifest is not None:
        m = fc.manifest
        return ctx.plan.add(PlannedImage(CHART_KIND, fc.source, m.digest, m.media_type, tags, fc.label))
    oci = build_oci_chart(fc.archive, source=fc.origin)
    built = ctx.keep_built(BuiltImage(Manifest(oci.manifest, MANIFEST_MEDIA_TYPE, oci.manifest_digest),
                                      dict(oci.blobs)))
    return ctx.plan.add(PlannedImage(CHART_KIND, fc.source, built.digest, built.media_type, tags, fc.label,
                                     rebuilt_from=digest_of(fc.archive)))


def _pin_images(ctx: PlanContext, fc: FetchedChart, images: list[FoundImage]) -> list[dict[str, str]]:
    """Pin every image the chart deploys; returns ``{image, digest, where}`` of each pinned one."""
    def pin(img: FoundImage) -> dict[str, str] | None:
        try:
            planned = ctx.pin(IMAGE_KIND, parse(img.reference), label=f"{fc.chart.name} {fc.chart.version}")
        except BundlerError as exc:
            ctx.plan.fail(img.reference, f"image of {fc.label} ({img.where}): {exc}")
            return None
        return {"image": img.reference, "digest": planned.digest, "name": planned.source.name, "where": img.where}

    with ThreadPoolExecutor(max(1, ctx.workers)) as pool:
        return [r for r in pool.map(pin, images) if r is not None]


def _report(ctx: PlanContext, fc: FetchedChart, found: ChartImages) -> None:
    """Problems with template file and line: an image text that is not an image reference fails (the chart
    would not deploy it either); anything else is a warning (the rest of the chart was still read)."""
    for problem in found.problems:
        if problem.kind == "not-an-image":
            at = f"{problem.template}:{problem.line}" if problem.line else problem.template
            key, n = f"{fc.label}, {at}", 2
            while key in ctx.plan.failed:
                key, n = f"{fc.label}, {at} ({n})", n + 1
            ctx.plan.fail(key, f"{problem.message.removeprefix(problem.template + ': ')}\n  hint: set the value the "
                               "chart expects, or list the image under mirror.additionalImages")
        else:
            ctx.plan.warnings.append(f"{fc.label}: {_problem_text(problem)}")
    for warning in found.warnings:
        ctx.plan.warnings.append(f"{fc.label}: {warning}")
    for img in found.images:
        if img.implicit_latest:
            ctx.plan.warnings.append(f"{fc.label}: {img.where}: image {img.original!r} has no tag; carried as "
                                     f"{img.reference} (what Kubernetes pulls)")
    if found.optional:
        ctx.plan.warnings.append(
            f"{fc.label}: {len(found.optional)} image(s) in its values are not deployed with the default values and "
            f"not carried: {', '.join(i.reference for i in found.optional)}; list them under "
            "mirror.additionalImages to switch those parts on in the air gap")


def _problem_text(p: Problem) -> str:
    """``file:line: message``, without the file repeated when the message starts with it."""
    at = f"{p.template}:{p.line}" if p.line else p.template
    message = p.message.removeprefix(f"{p.template}: ")
    return f"{at}: {message}"

