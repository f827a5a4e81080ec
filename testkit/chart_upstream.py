"""An upstream for Helm charts, on 127.0.0.1 with TLS: the images the test charts deploy in a real registry,
the charts in a classic chart repository (``ChartRepoServer``, Basic auth), one chart as an OCI chart in the
registry, and local charts (a directory and a ``.tgz``).

Everything is written with testkit's own pieces, never bundler's: images and the OCI chart through
``testkit.writer`` (the OCI chart laid out here as ``helm push`` does, independently of
``bundler.content.helm.oci_chart``), archives with ``testkit.charts.tgz``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bundler.oci import Manifest

from .chart_repo import ChartRepoServer
from .charts import TestChart, legacy, webapp
from .charts_platform import platform
from .synthetic import push_blob, push_image
from .writer import Writer, as_writer

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class PushedChart:
    repository: str          # registry/path of the chart (without tag)
    tag: str
    digest: str
    archive: bytes


@dataclass
class ChartUpstream:
    host: str                                                   # the image registry (also the OCI chart registry)
    repo: ChartRepoServer                                       # classic repository (webapp, platform)
    charts: dict[str, TestChart] = field(default_factory=dict)  # by chart name
    images: dict[str, str] = field(default_factory=dict)        # every pushed image reference -> manifest digest
    oci: dict[str, PushedChart] = field(default_factory=dict)   # chart name -> the OCI chart in the registry
    local_dir: Path | None = None                               # legacy-app as a chart directory
    local_tgz: Path | None = None                               # platform as a .tgz

    def expected_images(self, *names: str) -> set[str]:
        """What a correct discovery deploys for these charts (optional and by-hand images excluded)."""
        return set().union(*(self.charts[n].images for n in names))


def _manifest_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _chart_meta(archive_chart: TestChart) -> dict[str, Any]:
    raw = archive_chart.files["Chart.yaml"]
    meta = yaml.safe_load(raw if isinstance(raw, str) else raw.decode())
    return {k: meta[k] for k in ("name", "version", "description", "apiVersion", "appVersion", "type") if meta.get(k)}


def push_oci_chart(writer: Writer, path: str, chart: TestChart) -> PushedChart:
    """``helm push`` layout: config = Chart.yaml as JSON, one chart layer, an OCI manifest without a
    ``mediaType`` field, OCI annotations for title and version; under ``path/<chart>:<version>``."""
    archive = chart.archive()
    repo = f"{path}/{chart.name}"
    config = _manifest_bytes(_chart_meta(chart))
    push_blob(writer, repo, config)
    push_blob(writer, repo, archive)
    doc = {"schemaVersion": 2,
           "config": {"mediaType": HELM_CONFIG, "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                      "size": len(config)},
           "layers": [{"mediaType": HELM_LAYER, "digest": "sha256:" + hashlib.sha256(archive).hexdigest(),
                       "size": len(archive)}],
           "annotations": {"org.opencontainers.image.title": chart.name,
                           "org.opencontainers.image.version": chart.version}}
    data = _manifest_bytes(doc)
    m = Manifest(data, OCI_MANIFEST, "sha256:" + hashlib.sha256(data).hexdigest())   # bytes as written here
    the_tag = chart.version.replace("+", "_")
    writer.put_manifest(repo, the_tag, m)
    return PushedChart(f"{writer.registry}/{repo}", the_tag, m.digest, archive)


def with_version(chart: TestChart, version: str) -> TestChart:
    """The same chart under another version (Chart.yaml rewritten)."""
    text = str(chart.files["Chart.yaml"]).replace(f"version: {chart.version}", f"version: {version}", 1)
    return TestChart(chart.name, version, {**chart.files, "Chart.yaml": text}, set(chart.images))


def _push_images(writer: Writer, host: str, refs: set[str], images: dict[str, str]) -> None:
    for ref in sorted(refs):
        name, _, tag = ref.rpartition(":")
        repo = name.removeprefix(host + "/")
        m = push_image(writer, repo, tag, {f"srv/{repo}/{tag}": f"{ref}\n".encode()})
        images[ref] = m.digest


def build_chart_upstream(client: Any, repo: ChartRepoServer, workdir: Path) -> ChartUpstream:
    """Push every image the test charts need into the registry ``client`` talks to (through testkit's writer),
    add webapp (1.3.0 and 1.4.2) and platform to ``repo``, push legacy-app as an OCI chart (with an older
    and a pre-release tag beside it) and write the local charts under ``workdir``."""
    writer = as_writer(client)
    host = writer.registry
    up = ChartUpstream(host, repo)
    migrate = push_image(writer, "apps/webapp-migrate", None, {"srv/migrate": b"migrate\n"})
    up.images[f"{host}/apps/webapp-migrate@{migrate.digest}"] = migrate.digest
    charts = [webapp(host, migrate_digest=migrate.digest), platform(host), legacy(host)]
    up.charts = {c.name: c for c in charts}
    wanted = set().union(*(c.images | c.by_hand for c in charts))
    _push_images(writer, host, {r for r in wanted if "@" not in r}, up.images)

    old = webapp(host, version="1.3.0", migrate_digest=migrate.digest)
    repo.add(old.name, old.version, old.archive(), app_version="2.2.0")
    for c in (up.charts["webapp"], up.charts["platform"]):
        repo.add(c.name, c.version, c.archive())

    lg = up.charts["legacy-app"]
    up.oci[lg.name] = push_oci_chart(writer, "charts", lg)
    push_oci_chart(writer, "charts", with_version(lg, "0.8.0"))
    push_oci_chart(writer, "charts", with_version(lg, "1.0.0-rc.1"))   # a pre-release: never the newest stable

    up.local_dir = lg.write_dir(workdir / "local")
    up.local_tgz = workdir / "platform-0.7.0.tgz"
    up.local_tgz.write_bytes(up.charts["platform"].archive())
    return up
