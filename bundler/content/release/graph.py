"""The OpenShift update graph (Cincinnati): fetch one channel's graph and read it into a typed model.

``GET {graph}/api/upgrades_info/v1/graph?channel=C&arch=A`` with ``Accept: application/json`` answers
``{"version": 1, "nodes": [{version, payload, metadata}], "edges": [[from, to]], "conditionalEdges":
[{edges: [{from, to}], risks: [...]}]}`` (openshift/cincinnati ``policy-engine/src/graph.rs``). Only
``channel`` and ``arch`` change the answer, so one fetch per (channel, arch) is cached. An unknown channel
or architecture is not an HTTP error there: it is an empty graph, which :meth:`GraphClient.graph` names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ...errors import BundlerError, ConfigError
from ...http import TrustedSession, tls_failure
from ...registry.tls import verify_setting
from .semver import Version, parse_version

DEFAULT_GRAPH_URL = "https://api.openshift.com"
GRAPH_PATH = "/api/upgrades_info/v1/graph"
GRAPH_DATA_PATH = "/api/upgrades_info/graph-data"
OKD_GRAPH_URL = "https://origin-release.ci.openshift.org/graph"  # oc-mirror cincinnati.OkdUpdateURL
UPDATE_URL_ENV = "UPDATE_URL_OVERRIDE"
ARCHITECTURES = ("amd64", "arm64", "ppc64le", "s390x", "multi")
CHANNELS_KEY = "io.openshift.upgrades.graph.release.channels"
TIMEOUT = 60.0


class GraphError(BundlerError):
    """The update graph could not be fetched or read, or does not hold what the configuration names."""


@dataclass(frozen=True)
class Node:
    """One release in a channel's graph."""

    version: Version
    payload: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.metadata.get(CHANNELS_KEY, "").split(",") if c.strip())


@dataclass(frozen=True)
class Risk:
    """Why a conditional update is conditional (shown to the admin; evaluated by the cluster)."""

    name: str
    url: str = ""
    message: str = ""
    matching_rules: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ConditionalEdge:
    """Updates (from version, to version) that are recommended only when none of ``risks`` apply."""

    edges: tuple[tuple[str, str], ...]
    risks: tuple[Risk, ...]


@dataclass
class Graph:
    """One channel's graph for one architecture, as the update service answered it."""

    channel: str
    arch: str
    nodes: list[Node]
    edges: list[tuple[int, int]]
    conditional_edges: list[ConditionalEdge] = field(default_factory=list)
    url: str = ""

    def versions(self) -> list[Version]:
        """Every version in the channel, lowest first."""
        return sorted(n.version for n in self.nodes)

    def index(self, version: Version) -> int | None:
        """The node index of ``version`` (first match, like oc-mirror's ``GetNodeByVersion``)."""
        for i, n in enumerate(self.nodes):
            if n.version == version:
                return i
        return None

    def node(self, version: Version) -> Node | None:
        i = self.index(version)
        return None if i is None else self.nodes[i]

    def conditional_pairs(self) -> dict[tuple[int, int], tuple[Risk, ...]]:
        """Conditional edges as (from index, to index) -> risks, for edges whose ends are both nodes."""
        out: dict[tuple[int, int], tuple[Risk, ...]] = {}
        for ce in self.conditional_edges:
            for a, b in ce.edges:
                ia, ib = self.index(parse_version(a)), self.index(parse_version(b))
                if ia is not None and ib is not None:
                    out[(ia, ib)] = out.get((ia, ib), ()) + ce.risks
        return out


def graph_endpoint(url: str | None = None, *, okd: bool = False) -> str:
    """The graph endpoint to query: ``url`` (``--graph-url``), else ``UPDATE_URL_OVERRIDE`` (OCP only, as
    in oc-mirror), else the public service. A bare ``https://host[:port]`` gets ``/api/upgrades_info/v1/graph``
    appended; a URL with a path is used as given (an OSUS ``.../api/upgrades_info/graph`` works)."""
    chosen = url or (None if okd else os.environ.get(UPDATE_URL_ENV)) or (OKD_GRAPH_URL if okd else DEFAULT_GRAPH_URL)
    parts = urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        source = "--graph-url" if url else UPDATE_URL_ENV
        raise ConfigError(f"update graph URL {chosen!r} (from {source}) is not an http(s) URL",
                          "give it as https://HOST[:PORT] or the full .../api/upgrades_info/v1/graph URL")
    if parts.path in ("", "/"):
        return chosen.rstrip("/") + GRAPH_PATH
    return chosen


def graph_data_url(url: str | None = None) -> str:
    """Where the graph-data tarball is: ``{graph}/api/upgrades_info/graph-data`` (oc-mirror fetches it
    from the public service only; a graph URL with a path has its ``[/v1]/graph`` tail replaced)."""
    endpoint = graph_endpoint(url)
    for tail in ("/v1/graph", "/graph"):
        if endpoint.endswith(tail):
            return endpoint[: -len(tail)] + "/graph-data"
    return endpoint.rstrip("/") + "/graph-data"


def parse_graph(doc: Any, channel: str, arch: str, url: str = "") -> Graph:
    """Read a graph JSON document (already decoded); errors name the URL and the bad field."""
    where = f"update graph {url or '(document)'} channel {channel} arch {arch}"
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes", []), list):
        raise GraphError(f"{where}: the answer is not a graph (no nodes list)",
                         "check that the URL is an update service graph endpoint")
    nodes = [_node(raw, f"{where}: nodes[{i}]") for i, raw in enumerate(doc.get("nodes") or [])]
    edges = [_edge(e, len(nodes), f"{where}: edges[{j}]") for j, e in enumerate(doc.get("edges") or [])]
    return Graph(channel, arch, nodes, edges, _conditional(doc.get("conditionalEdges") or [], where), url)


def _node(raw: Any, where: str) -> Node:
    if not isinstance(raw, dict) or not raw.get("version") or not raw.get("payload"):
        raise GraphError(f"{where} has no version or payload")
    meta = raw.get("metadata")
    return Node(parse_version(raw["version"], f"{where}.version"), str(raw["payload"]),
                {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {})


def _edge(e: Any, count: int, where: str) -> tuple[int, int]:
    if not (isinstance(e, list) and len(e) == 2 and all(isinstance(x, int) and 0 <= x < count for x in e)):
        raise GraphError(f"{where} = {e!r} is not a pair of node indices")
    return e[0], e[1]


def _conditional(raw: Any, where: str) -> list[ConditionalEdge]:
    out: list[ConditionalEdge] = []
    for k, ce in enumerate(raw if isinstance(raw, list) else []):
        try:
            pairs = tuple((str(e["from"]), str(e["to"])) for e in ce.get("edges") or [])
            risks = tuple(Risk(str(r.get("name", "")), str(r.get("url", "")), str(r.get("message", "")),
                               tuple(r.get("matchingRules") or ())) for r in ce.get("risks") or [])
        except (AttributeError, KeyError, TypeError) as exc:
            raise GraphError(f"{where}: conditionalEdges[{k}] is malformed ({exc})") from exc
        out.append(ConditionalEdge(pairs, risks))
    return out


class GraphClient:
    """Fetches channel graphs over HTTPS with bundler's trust (system CAs + ``--ca-file``); proxies from
    the environment are honoured. One fetch per (channel, arch, type)."""

    def __init__(self, url: str | None = None, *, ca_file: str | None = None,
                 session: requests.Session | None = None, okd_url: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        self.endpoint = graph_endpoint(url)
        self.okd_endpoint = graph_endpoint(okd_url or url, okd=True)
        self.session = session or TrustedSession(verify_setting(ca_file))
        self.timeout = timeout
        self._cache: dict[tuple[str, str, str], Graph] = {}

    def graph(self, channel: str, arch: str = "amd64", kind: str = "ocp") -> Graph:
        """The graph of ``channel`` for ``arch``; an empty one is an error naming both (unknown channel,
        or no release of the channel for that architecture)."""
        key = (channel, arch, kind)
        if key not in self._cache:
            endpoint = self.okd_endpoint if kind == "okd" else self.endpoint
            graph = parse_graph(self._get_json(endpoint, channel, arch), channel, arch, endpoint)
            if not graph.nodes:
                raise GraphError(
                    f"release channel {channel!r} has no releases for architecture {arch} at {endpoint}",
                    "check the channel name (for example stable-4.14, eus-4.14, fast-4.15) and "
                    f"mirror.platform.architectures (one of {', '.join(ARCHITECTURES)})")
            self._cache[key] = graph
        return self._cache[key]

    def _get_json(self, endpoint: str, channel: str, arch: str) -> Any:
        try:
            resp = self.session.get(endpoint, params={"channel": channel, "arch": arch},
                                    headers={"Accept": "application/json"}, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise GraphError(f"update graph {endpoint}: TLS failed: {tls_failure(exc)}",
                             "pass --ca-file with the CA that signed the update service's certificate") from exc
        except requests.RequestException as exc:
            raise GraphError(f"update graph {endpoint} is unreachable: {tls_failure(exc)}",
                             "check the URL (--graph-url / UPDATE_URL_OVERRIDE), the network and HTTPS_PROXY") from exc
        if resp.status_code != 200:
            raise GraphError(f"update graph {endpoint} answered HTTP {resp.status_code} for channel {channel} "
                             f"arch {arch}: {_error_text(resp)}",
                             "check the channel name and architecture; retry later if the service is failing")
        try:
            return resp.json()
        except ValueError as exc:
            raise GraphError(f"update graph {endpoint} channel {channel} arch {arch}: the answer is not JSON "
                             f"({resp.headers.get('Content-Type', 'no content type')})",
                             "check that the URL is an update service graph endpoint") from exc

    def graph_data(self, url: str | None = None, limit: int = 256 << 20) -> bytes:
        """The graph-data tarball (tar.gz of cincinnati-graph-data) the update service publishes."""
        target = url or graph_data_url(self.endpoint)
        try:
            resp = self.session.get(target, timeout=self.timeout, stream=True)
            if resp.status_code != 200:
                raise GraphError(f"graph data {target} answered HTTP {resp.status_code}: {_error_text(resp)}",
                                 "check --graph-url; the graph image needs the update service's graph-data")
            chunks: list[bytes] = []
            for chunk in resp.iter_content(1 << 20):
                chunks.append(chunk)
                if sum(map(len, chunks)) > limit:
                    raise GraphError(f"graph data {target} is larger than {limit >> 20} MiB: refused")
            data = b"".join(chunks)
        except requests.RequestException as exc:
            raise GraphError(f"graph data {target} is unreachable: {tls_failure(exc)}",
                             "check the URL, --ca-file, the network and HTTPS_PROXY") from exc
        if data[:2] != b"\x1f\x8b":
            raise GraphError(f"graph data {target} is not a gzip tarball ({len(data)} bytes)")
        return data


def _error_text(resp: requests.Response) -> str:
    """Cincinnati errors are ``{"kind": ..., "value": ...}``; anything else is shown briefly."""
    try:
        body = resp.json()
        if isinstance(body, dict) and "kind" in body:
            return f"{body.get('kind')}: {body.get('value', '')}".strip()
    except ValueError:
        pass
    return (resp.text or resp.reason or "").strip()[:200]
