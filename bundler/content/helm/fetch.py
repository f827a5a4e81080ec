"""Getting each chart ``mirror.helm`` names, as archive bytes plus the name its OCI image is carried under.

* classic repositories (``http(s)://``): ``index.yaml`` and the archive, with the repository host's
  credentials from the auth file (sent as Basic auth, only to that host) and the export's TLS trust
  (system CAs + ``--ca-file``); every chart and version of the index when the configuration lists none;
* OCI chart repositories (``oci://HOST/PATH``): the tag is chosen as ``helm pull --version`` does
  (:func:`select_tag` over the repository's tags); the manifest and blobs are read through the export's
  registry source, and the upstream manifest is carried as it is (its digest stays the same);
* local charts: a chart directory (packaged deterministically) or a ``.tgz``.

Names in the mirror (the source reference of the chart image; import drops the host like any image's):
classic ``<url host>/<repository name>/<chart>``, OCI ``HOST/PATH/<chart>`` (its own name), local
``local-charts.invalid/<chart>``; the tag is the chart version with ``+`` as ``_`` (``helm push``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ...auth import AuthStore
from ...config import HelmChart, HelmRepository
from ...errors import BundlerError
from ...oci import Descriptor, Manifest, Reference
from ...registry.client import RegistryPool
from ...transport import Source
from .chart import Chart, load_archive
from .errors import ChartError, ChartNotFoundError, HelmError
from .oci_chart import oci_location, oci_tag, parse_oci_chart, select_tag
from .package import package_chart
from .repository import ChartRepository

LOCAL_REGISTRY = "local-charts.invalid"
"""The registry part of a local chart's source name: ``.invalid`` never resolves (RFC 2606)."""
_NOT_PATH = re.compile(r"[^a-z0-9._-]+")


@dataclass
class FetchedChart:
    """One chart ready to plan: its archive exactly as carried, and where it comes from."""

    spec: HelmChart
    chart: Chart
    archive: bytes
    origin: str                      # the archive's URL, the oci:// reference, or the local path
    repository: str                  # the configuration's repository name ("" for a local chart)
    source: Reference                # the chart image's name, tagged with the version
    manifest: Manifest | None = None  # an OCI chart's upstream manifest, carried byte-exact

    @property
    def label(self) -> str:
        return f"chart {self.chart.name} {self.chart.version}"


def path_component(text: str) -> str:
    """``text`` as one repository path component (lower case, ``[a-z0-9._-]``, alphanumeric at both ends)."""
    s = _NOT_PATH.sub("-", text.lower())
    s = re.sub(r"[._-]{2,}", "-", s).strip("._-")
    return s or "charts"


def spec_label(repo: HelmRepository | None, spec: HelmChart) -> str:
    """How a configured chart is named in messages before it is fetched."""
    version = spec.version or "(newest stable)"
    if repo is None:
        return f"local chart {spec.name} ({spec.path})"
    return f"chart {spec.name} {version} from repository {repo.name} ({repo.url})"


# -- classic repositories ---------------------------------------------------------------------------

def open_repository(repo: HelmRepository, pool: RegistryPool | None) -> ChartRepository:
    auth = pool.auth if pool is not None else AuthStore()
    ca_file = str(pool.ca_file) if pool is not None and pool.ca_file else None
    return ChartRepository(repo.url, ca_file=ca_file, auth=auth)


def index_charts(repo: HelmRepository, client: ChartRepository) -> list[HelmChart]:
    """Every version of every application chart in the index (``charts`` not listed: oc-mirror's rule)."""
    return [HelmChart(name=e.name, version=e.version, where=repo.where) for e in client.index().all_charts()]


def fetch_classic(repo: HelmRepository, spec: HelmChart, client: ChartRepository) -> FetchedChart:
    got = client.download(spec.name, spec.version or "")
    host = urlparse(repo.url).hostname or "charts"
    port = urlparse(repo.url).port
    registry = f"{host}:{port}" if port else host
    path = f"{path_component(repo.name)}/{path_component(got.chart.name)}"
    return FetchedChart(spec, got.chart, got.data, got.url, repo.name,
                        Reference(registry, path, oci_tag(got.version)))


# -- OCI chart repositories -------------------------------------------------------------------------

def _tags(pool: RegistryPool | None, host: str, repo: str, spec: HelmChart) -> list[str]:
    if pool is None:
        if spec.version and re.fullmatch(r"[\w][\w.+-]*", spec.version):
            return [oci_tag(spec.version)]      # an exact version needs no tag list
        raise HelmError(f"cannot list the tags of {host}/{repo} here", "name an exact chart version")
    return pool.get(host).list_tags(repo)


def fetch_oci(repo: HelmRepository, spec: HelmChart, source: Source, pool: RegistryPool | None) -> FetchedChart:
    host, path, _ = oci_location(repo.url, spec.name, "0")
    tags = _tags(pool, host, path, spec)
    if not tags:
        raise ChartNotFoundError(f"oci://{host}/{path} has no tags (no such chart in the repository)",
                                 "check the chart name and the repository URL")
    try:
        tag = select_tag(tags, spec.version or "")
    except HelmError as exc:
        raise ChartNotFoundError(f"oci://{host}/{path}: {exc.message}", exc.hint) from exc
    ref = Reference(host, path, tag)
    manifest = source.get_manifest(ref)
    pulled = parse_oci_chart(manifest.data, lambda d: _blob(source, ref, manifest, d), f"oci://{ref}")
    return FetchedChart(spec, pulled.chart, pulled.archive, f"oci://{ref}", repo.name, ref, manifest)


def _blob(source: Source, ref: Reference, manifest: Manifest, digest: str) -> bytes:
    doc = json.loads(manifest.data)
    for d in [doc.get("config") or {}, *(doc.get("layers") or [])]:
        if d.get("digest") == digest:
            return b"".join(source.open_blob(ref.repo, Descriptor.from_json(d)))
    raise ChartError(f"oci://{ref}: blob {digest} is not in its manifest")


# -- local charts -----------------------------------------------------------------------------------

def fetch_local(spec: HelmChart) -> FetchedChart:
    path = Path(spec.path or "")
    if path.is_dir():
        archive = package_chart(path)
    elif path.exists():
        try:
            archive = path.read_bytes()
        except OSError as exc:
            raise ChartError(f"{path} cannot be read: {exc.strerror}") from exc
    else:
        raise ChartError(f"{path} does not exist", f"check {spec.where or 'mirror.helm.local[].path'}")
    chart = load_archive(archive, str(path))
    ref = Reference(LOCAL_REGISTRY, path_component(chart.name), oci_tag(chart.version))
    return FetchedChart(spec, chart, archive, str(path), "", ref)


def fetch_all(repos: list[HelmRepository], local: list[HelmChart], source: Source, pool: RegistryPool | None,
              ) -> Iterator[tuple[str, FetchedChart | BundlerError]]:
    """Every configured chart, in configuration order: (label, the chart or why it could not be had).
    ``pool`` holds the export's auth file and trust, which chart repositories use too."""
    for repo in repos:
        if repo.is_oci:
            for spec in repo.charts or []:
                yield from _attempt(spec_label(repo, spec), lambda s=spec, r=repo: fetch_oci(r, s, source, pool))
            continue
        try:
            client = open_repository(repo, pool)
            specs = repo.charts if repo.charts is not None else index_charts(repo, client)
        except BundlerError as exc:
            yield f"every chart of repository {repo.name} ({repo.url})", exc
            continue
        for spec in specs:
            yield from _attempt(spec_label(repo, spec), lambda s=spec, r=repo, c=client: fetch_classic(r, s, c))
    for spec in local:
        yield from _attempt(spec_label(None, spec), lambda s=spec: fetch_local(s))


def _attempt(label: str, fetch: Any) -> Iterator[tuple[str, FetchedChart | BundlerError]]:
    """The chart, or the error that names what is wrong with it (``label`` names the chart)."""
    try:
        got = fetch()
    except BundlerError as exc:
        yield label, exc
        return
    yield label, got
