"""Helm charts (``mirror.helm``): load, render without helm, find images, fetch, lay out as OCI.

The planner/importer call (all pure or HTTP-only, no helm binary):

* ``load_chart(path)`` / ``load_archive(bytes, source)`` -> ``Chart``; ``package_chart(dir)`` -> bytes
* ``find_images(chart, image_paths=(), values=None)`` -> ``ChartImages`` (images, optional, problems,
  ``fully_resolved``)
* ``ChartRepository(url, ca_file=, auth=, username=, password=)``: ``.index()``, ``.download(name, version)``
* ``build_oci_chart(archive)`` -> ``OCIChart`` (blobs + manifest as ``helm push``), ``oci_location(base,
  name, version)``, ``select_tag(tags, version)``, ``parse_oci_chart(manifest, get_blob)`` -> ``PulledChart``
* ``KIND``: the ``helm`` content kind (``kind.py``: plan; ``fetch.py``: classic, OCI and local charts;
  ``outputs.py``: ``helm-charts.yaml``). The configuration is ``bundler.config.HelmSpec`` (``isc/``).

Most configurations carry no chart, and every export plans every kind: the chart code (a template engine,
JSONPath, repositories; 20-30 ms to import) is loaded when a configuration has charts or a name above is
first used, not when ``bundler`` starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ...plan import PlanContext
from ..base import ContentKind
from .outputs import NAME, render

if TYPE_CHECKING:
    from .chart import Chart, load_archive, load_chart
    from .errors import ChartAuthError, ChartError, ChartNotFoundError, ChartRepositoryError, HelmError, TemplateError
    from .images import DEFAULT_IMAGE_PATHS, ChartImages, FoundImage, Problem, find_images
    from .kind import CHART_KIND, IMAGE_KIND
    from .oci_chart import (
        CHART_LAYER_MEDIA_TYPE,
        CONFIG_MEDIA_TYPE,
        MANIFEST_MEDIA_TYPE,
        OCIChart,
        PulledChart,
        build_oci_chart,
        oci_location,
        parse_oci_chart,
        select_tag,
    )
    from .package import package_chart
    from .repository import ChartRepository, DownloadedChart, RepositoryIndex

_WHERE = {
    ".chart": ("Chart", "load_archive", "load_chart"),
    ".errors": ("ChartAuthError", "ChartError", "ChartNotFoundError", "ChartRepositoryError", "HelmError",
                "TemplateError"),
    ".images": ("DEFAULT_IMAGE_PATHS", "ChartImages", "FoundImage", "Problem", "find_images"),
    ".kind": ("CHART_KIND", "IMAGE_KIND"),
    ".oci_chart": ("CHART_LAYER_MEDIA_TYPE", "CONFIG_MEDIA_TYPE", "MANIFEST_MEDIA_TYPE", "OCIChart", "PulledChart",
                   "build_oci_chart", "oci_location", "parse_oci_chart", "select_tag"),
    ".package": ("package_chart",),
    ".repository": ("ChartRepository", "DownloadedChart", "RepositoryIndex"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str) -> Any:
    """The package's names, each imported from its module when first asked for."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def _plan(ctx: PlanContext) -> None:
    if ctx.config.helm:
        from .kind import plan

        plan(ctx)


KIND = ContentKind(NAME, _plan, render)
"""The ``helm`` content kind: :func:`.kind.plan` for a configuration with charts, :func:`.outputs.render`."""

__all__ = [
    "CHART_KIND", "CHART_LAYER_MEDIA_TYPE", "CONFIG_MEDIA_TYPE", "DEFAULT_IMAGE_PATHS", "IMAGE_KIND", "KIND",
    "MANIFEST_MEDIA_TYPE", "Chart", "ChartAuthError", "ChartError", "ChartImages", "ChartNotFoundError",
    "ChartRepository", "ChartRepositoryError", "DownloadedChart", "FoundImage", "HelmError", "OCIChart", "Problem",
    "PulledChart", "RepositoryIndex", "TemplateError", "build_oci_chart", "find_images", "load_archive",
    "load_chart", "oci_location", "package_chart", "parse_oci_chart", "select_tag",
]
