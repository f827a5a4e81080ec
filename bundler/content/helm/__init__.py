"""Helm charts (``mirror.helm``): load, render without helm, find images, fetch, lay out as OCI.

The planner/importer call (all pure or HTTP-only, no helm binary):

* ``load_chart(path)`` / ``load_archive(bytes, source)`` -> ``Chart``; ``package_chart(dir)`` -> bytes
* ``find_images(chart, image_paths=(), values=None)`` -> ``ChartImages`` (images, optional, problems,
  ``fully_resolved``)
* ``ChartRepository(url, ca_file=, auth=, username=, password=)``: ``.index()``, ``.download(name, version)``
* ``build_oci_chart(archive)`` -> ``OCIChart`` (blobs + manifest as ``helm push``), ``oci_location(base,
  name, version)``, ``select_tag(tags, version)``, ``parse_oci_chart(manifest, get_blob)`` -> ``PulledChart``
* ``parse_helm(isc["mirror"]["helm"])`` -> ``HelmSpec`` (repositories, local; ConfigError naming the field)
"""

from __future__ import annotations

from .chart import Chart, load_archive, load_chart
from .errors import ChartAuthError, ChartError, ChartNotFoundError, ChartRepositoryError, HelmError, TemplateError
from .images import DEFAULT_IMAGE_PATHS, ChartImages, FoundImage, Problem, find_images
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
from .spec import ChartSpec, HelmSpec, RepositorySpec, parse_helm

__all__ = [
    "CHART_LAYER_MEDIA_TYPE", "CONFIG_MEDIA_TYPE", "DEFAULT_IMAGE_PATHS", "MANIFEST_MEDIA_TYPE", "Chart",
    "ChartAuthError", "ChartError", "ChartImages", "ChartNotFoundError", "ChartRepository", "ChartRepositoryError",
    "ChartSpec", "DownloadedChart", "FoundImage", "HelmError", "HelmSpec", "OCIChart", "Problem", "PulledChart",
    "RepositoryIndex", "RepositorySpec", "TemplateError", "build_oci_chart", "find_images", "load_archive",
    "load_chart", "oci_location", "package_chart", "parse_helm", "parse_oci_chart", "select_tag",
]
