"""Classic Helm chart repositories: ``index.yaml`` plus chart archives over HTTP(S).

Version selection is helm's ``IndexFile.Get``: an exact version string first, else the newest version
matching the semver constraint (``""`` = newest stable). Credentials: explicit Basic auth, else the
containers auth file entry for the repository host (any object with ``lookup(host, path)`` returning
something with ``username``/``password``, e.g. ``bundler.auth.AuthStore``); they are only sent to the
repository's own host, as helm does without ``--pass-credentials``. TLS is verified against what
``ca_file`` adds (system CAs plus ``--ca-file``, ``bundler.registry.tls.verify_setting``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlparse, urlunparse

import requests
import yaml

from ...http import TrustedSession, tls_failure
from ...registry.tls import verify_setting
from . import semver
from .chart import Chart, load_archive
from .errors import ChartAuthError, ChartNotFoundError, ChartRepositoryError

MAX_INDEX_BYTES = 256 * 1024 * 1024
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CredentialLookup(Protocol):
    def lookup(self, registry: str, repository: str = "") -> Any: ...


@dataclass(frozen=True)
class IndexEntry:
    name: str
    version: str
    urls: tuple[str, ...]
    digest: str = ""
    type: str = ""
    app_version: str = ""


@dataclass
class RepositoryIndex:
    url: str
    entries: dict[str, list[IndexEntry]] = field(default_factory=dict)   # newest version first

    def get(self, name: str, version: str = "") -> IndexEntry:
        """helm ``IndexFile.Get``; ChartNotFoundError naming what is available otherwise."""
        versions = self.entries.get(name)
        if not versions:
            names = ", ".join(sorted(self.entries)[:20]) or "none"
            raise ChartNotFoundError(f"chart {name} is not in the chart repository {self.url}",
                                     f"charts in this repository: {names}")
        if version:
            for e in versions:
                if e.version == version:
                    return e
        try:
            constraint = semver.Constraint(version or "*")
        except semver.SemverError as exc:
            raise ChartNotFoundError(f"chart {name}: version {version!r} is neither a version of the chart nor a "
                                     f"semver constraint ({exc})", "write an exact version such as 1.2.3") from exc
        for e in versions:
            if constraint.check(semver.parse_version(e.version)):
                return e
        listed = ", ".join(e.version for e in versions[:15])
        raise ChartNotFoundError(f"chart {name} has no version {version or '(newest stable)'} in the chart "
                                 f"repository {self.url}", f"versions available: {listed}")

    def all_charts(self) -> list[IndexEntry]:
        """Every version of every application chart (what oc-mirror takes when ``charts`` is empty)."""
        return [e for versions in self.entries.values() for e in versions if e.type != "library"]


def resolve_url(base: str, ref: str) -> str:
    """helm ``ResolveReferenceURL``: ``ref`` relative to ``base`` treated as a directory; the query
    string of ``base`` is kept."""
    if urlparse(ref).scheme:
        return ref
    b = urlparse(base)
    path = b.path.rstrip("/") + "/"
    joined = urlparse(urljoin(urlunparse(b._replace(path=path, query="")), ref))
    return urlunparse(joined._replace(query=b.query))


def parse_index(data: bytes, url: str) -> RepositoryIndex:
    """An ``index.yaml`` (or JSON); entries that are not valid chart versions are skipped like helm."""
    try:
        doc = yaml.load(data, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ChartRepositoryError(f"the index of chart repository {url} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not doc.get("apiVersion") or not isinstance(doc.get("entries", {}), dict):
        raise ChartRepositoryError(f"{url} did not serve a chart repository index (no apiVersion/entries)",
                                   "check the repository URL: helm repo add would fail on it too")
    index = RepositoryIndex(url)
    for name, versions in (doc.get("entries") or {}).items():
        good = []
        for v in versions or []:
            if not isinstance(v, dict) or not semver.is_version(str(v.get("version", ""))):
                continue
            urls = tuple(str(u) for u in v.get("urls") or [])
            good.append(IndexEntry(str(name), str(v["version"]), urls, str(v.get("digest") or ""),
                                   str(v.get("type") or ""), str(v.get("appVersion") or "")))
        good.sort(key=lambda e: semver.parse_version(e.version), reverse=True)
        index.entries[str(name)] = good
    return index


@dataclass
class DownloadedChart:
    name: str
    version: str
    url: str
    data: bytes          # the archive exactly as served
    digest: str          # sha256:<hex> of data
    chart: Chart         # loaded and validated


class ChartRepository:
    """One classic chart repository (``mirror.helm.repositories[]``)."""

    def __init__(self, url: str, *, ca_file: str | None = None, verify: str | bool | None = None,
                 auth: CredentialLookup | None = None, username: str | None = None, password: str | None = None,
                 timeout: float = 60.0, session: requests.Session | None = None) -> None:
        if urlparse(url).scheme not in ("http", "https"):
            raise ChartRepositoryError(f"chart repository URL {url!r} is not http(s)",
                                       "oci:// repositories are read through the registry client")
        self.url = url
        self.timeout = timeout
        self.session = session or TrustedSession(verify if verify is not None else verify_setting(ca_file))
        self.host = urlparse(url).netloc
        self._auth: tuple[str, str] | None = (username, password or "") if username else None
        if self._auth is None and auth is not None:
            creds = auth.lookup(self.host, urlparse(url).path.strip("/"))
            if creds is not None:
                self._auth = (creds.username, creds.password)
        self._index: RepositoryIndex | None = None

    def _get(self, url: str, what: str, limit: int) -> bytes:
        same_host = urlparse(url).netloc == self.host
        try:
            resp = self.session.get(url, auth=self._auth if same_host else None, timeout=self.timeout, stream=True)
        except requests.exceptions.SSLError as exc:
            raise ChartRepositoryError(f"chart repository {self.url}: TLS failed fetching {what}: {tls_failure(exc)}",
                                       "pass --ca-file with the CA that signed the repository's certificate") from exc
        except requests.RequestException as exc:
            raise ChartRepositoryError(f"chart repository {self.url} is unreachable ({what}): {tls_failure(exc)}",
                                       "check the URL and the network path (proxy settings apply)") from exc
        with resp:
            self._check_status(resp, what)
            body = bytearray()
            try:
                for chunk in resp.iter_content(1 << 16):
                    body += chunk
                    if len(body) > limit:
                        raise ChartRepositoryError(f"{what} from {url} is larger than {limit} bytes")
            except requests.RequestException as exc:
                raise ChartRepositoryError(f"chart repository {self.url}: reading {what} failed: {exc}") from exc
        return bytes(body)

    def _check_status(self, resp: requests.Response, what: str) -> None:
        if resp.status_code == 200:
            return
        if resp.status_code in (401, 403):
            how = "refused the credentials" if self._auth else "requires credentials"
            raise ChartAuthError(f"chart repository {self.url} {how} for {what} (HTTP {resp.status_code})",
                                 f"add an entry for {self.host} to the auth file (--authfile)", status=resp.status_code)
        if resp.status_code == 404:
            raise ChartRepositoryError(f"chart repository {self.url}: {what} not found (HTTP 404)",
                                       "check the repository URL" if what == "index.yaml" else
                                       "the index lists an archive the server does not have", status=404)
        raise ChartRepositoryError(f"chart repository {self.url}: {what} failed with HTTP {resp.status_code}",
                                   status=resp.status_code)

    def index(self) -> RepositoryIndex:
        if self._index is None:
            self._index = parse_index(self._get(resolve_url(self.url, "index.yaml"), "index.yaml", MAX_INDEX_BYTES),
                                      self.url)
        return self._index

    def download(self, name: str, version: str = "") -> DownloadedChart:
        """Fetch the archive of ``name`` at ``version`` (exact or constraint), check digest and content."""
        entry = self.index().get(name, version)
        label = f"chart {name} {entry.version}"
        if not entry.urls:
            raise ChartRepositoryError(f"{label}: the index of {self.url} lists no URL for it")
        url = resolve_url(self.url, entry.urls[0])
        data = self._get(url, f"{label} archive", MAX_ARCHIVE_BYTES)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if entry.digest and entry.digest.removeprefix("sha256:") != digest.removeprefix("sha256:"):
            raise ChartRepositoryError(f"{label}: the archive from {url} does not match the index digest "
                                       f"{entry.digest} (got {digest})", "the repository is inconsistent or the "
                                       "download was altered; try again later")
        chart = load_archive(data, f"{label} from {url}")
        if (chart.name, chart.version) != (name, entry.version):
            raise ChartRepositoryError(f"{label}: the archive at {url} holds chart {chart.label} instead")
        return DownloadedChart(name, entry.version, url, data, digest, chart)
