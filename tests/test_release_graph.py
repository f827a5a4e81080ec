"""Channel selection through the update graph, against a protocol-real update service over TLS.

The graph comes from testkit.graph_server.sample_universe() (unconditional edges ->, conditional ~>):

    4.12.0->4.12.1->...->4.12.5, 4.12.0->4.12.2, 4.12.1->4.12.3
    4.12.3->4.13.0, 4.12.4->4.13.1, 4.12.5->4.13.2, 4.12.5->4.13.3
    4.13.0->...->4.13.4, 4.13.2~>4.13.4
    4.13.2->4.14.0, 4.13.3->4.14.1, 4.13.4->4.14.2, 4.13.4->4.14.0-rc.1~>4.14.0
    4.14.0->...->4.14.4, 4.14.0->4.14.2, 4.14.1~>4.14.3
    stable-4.12: 4.12.*   stable-4.13: 4.12.3-5, 4.13.*   stable-4.14 / eus-4.14: 4.13.2-4, 4.14.0-3
    fast-4.14: stable-4.14 + 4.14.4   candidate-4.14: 4.14.0-rc.1, 4.14.0-4   arm64 has no 4.14.3
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bundler.content.release.channels import Selection, resolve_channel, select_releases, shortest_path
from bundler.content.release.graph import (
    GraphClient,
    GraphError,
    graph_data_url,
    graph_endpoint,
    parse_graph,
)
from bundler.content.release.semver import parse_version
from bundler.errors import ConfigError
from bundler.isc.settings import ReleaseChannel as C
from testkit.graph_server import Release, Universe, UpdateServer, payload_for, sample_universe
from testkit.proxy import ConnectProxy

OKD = Universe([Release(f"4.18.0-okd-scos.{n}", ["4-stable"], {"amd64": payload_for(f"okd-{n}", "amd64",
                                                                                   "quay.io/okd/scos-release")})
                for n in (6, 7, 8)], [("4.18.0-okd-scos.6", "4.18.0-okd-scos.7"), ("4.18.0-okd-scos.7", "4.18.0-okd-scos.8")])


@pytest.fixture(scope="module")
def server() -> Iterator[UpdateServer]:
    with UpdateServer(sample_universe(), okd=OKD) as srv:
        yield srv


@pytest.fixture
def client(server: UpdateServer) -> GraphClient:
    server.clear_failures()
    return GraphClient(server.url, ca_file=str(server.ca_file), okd_url=server.url + "/okd/graph")


def pick(client: GraphClient, *channels: C, arches: list[str] | None = None, conditional: bool = False) -> Selection:
    return select_releases(client, list(channels), arches, follow_conditional=conditional)


def versions(sel: Selection, arch: str = "amd64") -> list[str]:
    return [r.version for r in sel.releases if r.arch == arch]


# -- the graph document and its transport --------------------------------------------------------------

def test_graph_is_fetched_over_tls_with_accept_json_and_parsed(client: GraphClient, server: UpdateServer) -> None:
    server.requests.clear()
    graph = client.graph("stable-4.14", "amd64")
    assert sorted(str(v) for v in graph.versions()) == sorted(["4.13.2", "4.13.3", "4.13.4", "4.14.0", "4.14.1",
                                                              "4.14.2", "4.14.3"])
    node = graph.node(parse_version("4.14.1"))
    assert node is not None and node.payload == payload_for("4.14.1", "amd64")
    assert "stable-4.14" in node.channels and "eus-4.14" in node.channels
    assert len(graph.edges) == 9
    pairs = graph.conditional_pairs()
    risky = {(str(graph.nodes[a].version), str(graph.nodes[b].version)): r for (a, b), r in pairs.items()}
    assert set(risky) == {("4.13.2", "4.13.4"), ("4.14.1", "4.14.3")}
    assert risky[("4.13.2", "4.13.4")][0].matching_rules[0]["type"] == "PromQL"
    path, query, accept = server.requests[-1]
    assert (path, query, accept) == ("/api/upgrades_info/v1/graph",
                                     {"channel": ["stable-4.14"], "arch": ["amd64"]}, "application/json")
    client.graph("stable-4.14", "amd64")
    assert len(server.requests) == 1, "one fetch per channel and architecture"


def test_graph_data_tarball_is_fetched(client: GraphClient) -> None:
    import io
    import tarfile
    data = client.graph_data()
    names = tarfile.open(fileobj=io.BytesIO(data)).getnames()
    assert "channels/stable-4.14.yaml" in names and "version" in names
    assert any(n.startswith("blocked-edges/4.13.4") for n in names)


def test_endpoints_from_argument_environment_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPDATE_URL_OVERRIDE", raising=False)
    assert graph_endpoint() == "https://api.openshift.com/api/upgrades_info/v1/graph"
    assert graph_endpoint("https://osus.example:8443/") == "https://osus.example:8443/api/upgrades_info/v1/graph"
    assert graph_endpoint("https://osus.example/api/upgrades_info/graph") == "https://osus.example/api/upgrades_info/graph"
    assert graph_endpoint(okd=True) == "https://origin-release.ci.openshift.org/graph"
    monkeypatch.setenv("UPDATE_URL_OVERRIDE", "https://osus.enterprise.in/graph")
    assert graph_endpoint() == "https://osus.enterprise.in/graph"
    assert graph_endpoint(okd=True) == "https://origin-release.ci.openshift.org/graph", "OKD ignores the override"
    assert graph_endpoint("https://given.example") == "https://given.example/api/upgrades_info/v1/graph"
    assert graph_data_url() == "https://osus.enterprise.in/graph-data"
    assert graph_data_url("https://api.openshift.com") == "https://api.openshift.com/api/upgrades_info/graph-data"
    with pytest.raises(ConfigError, match="UPDATE_URL_OVERRIDE"):
        monkeypatch.setenv("UPDATE_URL_OVERRIDE", "osus.example/graph")
        graph_endpoint()


def test_update_url_override_reaches_the_server(server: UpdateServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPDATE_URL_OVERRIDE", server.url + "/api/upgrades_info/graph")
    sel = select_releases(GraphClient(ca_file=str(server.ca_file)), [C("stable-4.13")])
    assert versions(sel) == ["4.13.4"]
    assert server.requests[-1][0] == "/api/upgrades_info/graph"


def test_https_proxy_is_honoured(server: UpdateServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with ConnectProxy() as proxy:
        for var in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        graph = GraphClient(server.url, ca_file=str(server.ca_file)).graph("stable-4.12")
        assert len(graph.nodes) == 6
        assert proxy.tunnels == [f"127.0.0.1:{server.port}"]


# -- selection rules -----------------------------------------------------------------------------------

def test_no_range_selects_the_channel_head_only(client: GraphClient) -> None:
    sel = pick(client, C("stable-4.14"))
    assert versions(sel) == ["4.14.3"]
    assert sel.paths == {"amd64": ["4.14.3"]}
    r = sel.releases[0]
    assert (r.payload, r.channel, r.arch) == (payload_for("4.14.3", "amd64"), "stable-4.14", "amd64")
    assert sel.resolved["amd64"][0].min_version == sel.resolved["amd64"][0].max_version == "4.14.3"


def test_min_version_selects_min_to_head(client: GraphClient) -> None:
    sel = pick(client, C("stable-4.14", min_version="4.14.1"))
    assert versions(sel) == ["4.14.1", "4.14.2", "4.14.3"]
    assert sel.path_text("amd64") == "4.14.1 -> 4.14.2 -> 4.14.3"


def test_max_version_caps_and_without_min_starts_at_the_channel_first(client: GraphClient) -> None:
    assert versions(pick(client, C("stable-4.14", min_version="4.13.3", max_version="4.14.1"))) == \
        ["4.13.3", "4.13.4", "4.14.0", "4.14.1"]
    sel = pick(client, C("stable-4.14", max_version="4.14.1"))  # oc-mirror: min = the channel's first
    assert versions(sel) == ["4.13.2", "4.13.3", "4.13.4", "4.14.0", "4.14.1"]
    assert sel.path_text("amd64") == "4.13.2 -> 4.14.0 -> 4.14.1"


def test_full_selects_every_version_of_the_channel(client: GraphClient) -> None:
    assert versions(pick(client, C("stable-4.14", full=True))) == \
        ["4.13.2", "4.13.3", "4.13.4", "4.14.0", "4.14.1", "4.14.2", "4.14.3"]
    assert versions(pick(client, C("stable-4.14", full=True, min_version="4.14.2"))) == ["4.14.2", "4.14.3"]


def test_shortest_path_selects_only_the_releases_on_the_path(client: GraphClient) -> None:
    sel = pick(client, C("stable-4.14", min_version="4.13.2", max_version="4.14.3", shortest_path=True))
    assert versions(sel) == ["4.13.2", "4.14.0", "4.14.2", "4.14.3"]
    assert sel.path_text("amd64") == "4.13.2 -> 4.14.0 -> 4.14.2 -> 4.14.3"
    assert sel.warnings == []


def test_conditional_edges_are_not_followed_unless_asked(client: GraphClient) -> None:
    ch = C("stable-4.14", min_version="4.14.1", max_version="4.14.3", shortest_path=True)
    assert versions(pick(client, ch)) == ["4.14.1", "4.14.2", "4.14.3"]  # as oc-mirror: edges only
    sel = pick(client, ch, conditional=True)
    assert versions(sel) == ["4.14.1", "4.14.3"]
    assert sel.warnings == ["upgrade 4.14.1 -> 4.14.3 in stable-4.14 is conditional (risks: TestAlwaysRisk)"]


def test_no_unconditional_path_keeps_both_ends_and_warns(client: GraphClient) -> None:
    ch = C("candidate-4.14", min_version="4.14.0-rc.1", shortest_path=True)
    sel = pick(client, ch)
    assert versions(sel) == ["4.14.0-rc.1", "4.14.4"]
    assert sel.paths["amd64"] == []
    assert "no upgrade path from 4.14.0-rc.1 to 4.14.4" in sel.warnings[0]
    assert versions(pick(client, ch, conditional=True)) == ["4.14.0-rc.1", "4.14.0", "4.14.2", "4.14.3", "4.14.4"]


def test_prerelease_orders_before_its_release(client: GraphClient) -> None:
    assert versions(pick(client, C("candidate-4.14", full=True))) == \
        ["4.14.0-rc.1", "4.14.0", "4.14.1", "4.14.2", "4.14.3", "4.14.4"]


def test_several_channels_add_the_upgrade_path_across_them(client: GraphClient) -> None:
    sel = pick(client, C("stable-4.12"), C("stable-4.13"), C("stable-4.14"))
    assert versions(sel) == ["4.12.5", "4.13.3", "4.13.4", "4.14.2", "4.14.3"]
    assert sel.path_text("amd64") == "4.12.5 -> 4.13.3 -> 4.13.4 -> 4.14.2 -> 4.14.3"
    assert {r.version: r.channel for r in sel.releases}["4.13.3"] == "stable-4.13"


def test_eus_skip_with_ranges(client: GraphClient) -> None:
    sel = pick(client, C("stable-4.12", min_version="4.12.4"), C("stable-4.14", max_version="4.14.2",
                                                                 min_version="4.14.0"))
    assert versions(sel) == ["4.12.4", "4.12.5", "4.13.3", "4.13.4", "4.14.0", "4.14.1", "4.14.2"]
    assert sel.path_text("amd64") == "4.12.4 -> 4.12.5 -> 4.13.3 -> 4.13.4 -> 4.14.2"


def test_channels_of_the_same_minor(client: GraphClient) -> None:
    sel = pick(client, C("stable-4.14"), C("fast-4.14"))
    assert versions(sel) == ["4.14.3", "4.14.4"]
    assert sel.path_text("amd64") == "4.14.3 -> 4.14.4"


def test_several_architectures_resolve_each_their_own(client: GraphClient) -> None:
    sel = pick(client, C("stable-4.14", min_version="4.14.1"), arches=["amd64", "arm64"])
    assert versions(sel, "amd64") == ["4.14.1", "4.14.2", "4.14.3"]
    assert versions(sel, "arm64") == ["4.14.1", "4.14.2"]  # 4.14.3 is not out for arm64
    assert {r.payload for r in sel.releases if r.arch == "arm64"} == \
        {payload_for("4.14.1", "arm64"), payload_for("4.14.2", "arm64")}


def test_multi_selects_the_multi_payloads(client: GraphClient, server: UpdateServer) -> None:
    sel = pick(client, C("stable-4.13", min_version="4.13.3"), arches=["multi"])
    assert [(r.version, r.payload) for r in sel.releases] == \
        [("4.13.3", payload_for("4.13.3", "multi")), ("4.13.4", payload_for("4.13.4", "multi"))]
    assert server.requests[-1][1]["arch"] == ["multi"]


def test_okd_channels_use_the_okd_service_and_stay_out_of_cross_channel(client: GraphClient) -> None:
    sel = pick(client, C("4-stable", type="okd", min_version="4.18.0-okd-scos.7"))
    assert versions(sel) == ["4.18.0-okd-scos.7", "4.18.0-okd-scos.8"]
    mixed = pick(client, C("4-stable", type="okd"), C("stable-4.14"))
    assert versions(mixed) == ["4.14.3", "4.18.0-okd-scos.8"]
    assert mixed.paths["amd64"] == ["4.14.3"]


def test_eus_warning_when_an_eus_range_spans_two_minors(client: GraphClient) -> None:
    sel = pick(client, C("eus-4.14", min_version="4.13.2", max_version="4.14.3"))
    assert sel.warnings == []
    graph = client.graph("stable-4.14")
    warnings: list[str] = []
    resolve_channel(graph, C("eus-like-4.14", min_version="4.13.2", max_version="4.14.3"), warnings)
    assert warnings == []
    # a wide EUS range warns, as oc-mirror's warnEUSChannel does
    wide = Universe([Release(v, ["eus-4.16"], {"amd64": payload_for(v, "amd64")}) for v in ("4.14.1", "4.16.2")], [])
    with UpdateServer(wide) as srv:
        s = select_releases(GraphClient(srv.url, ca_file=str(srv.ca_file)),
                            [C("eus-4.16", min_version="4.14.1", max_version="4.16.2")])
    assert "spans two or more minors" in s.warnings[0]


def test_shortest_path_prefers_the_highest_neighbour_first() -> None:
    doc = {"nodes": [{"version": v, "payload": f"p{v}"} for v in ("1.0.0", "1.0.1", "1.0.2", "1.0.3")],
           "edges": [[0, 1], [0, 2], [1, 3], [2, 3]]}
    graph = parse_graph(doc, "c-1.0", "amd64")
    assert shortest_path(graph, 0, 3) == [0, 2, 3]
    assert shortest_path(graph, 3, 0) == []


# -- bad input -----------------------------------------------------------------------------------------

def test_unknown_channel_is_named(client: GraphClient) -> None:
    with pytest.raises(GraphError, match="release channel 'stable-4.99' has no releases for architecture amd64"):
        pick(client, C("stable-4.99"))


def test_architecture_without_releases_and_misspelt_architecture(client: GraphClient) -> None:
    with pytest.raises(GraphError, match="'stable-4.14' has no releases for architecture s390x"):
        pick(client, C("stable-4.14"), arches=["s390x"])
    with pytest.raises(ConfigError, match="'x86_64' is not one of") as exc:
        pick(client, C("stable-4.14"), arches=["x86_64"])
    assert exc.value.hint == "write amd64"


def test_version_not_in_the_channel_is_named(client: GraphClient) -> None:
    with pytest.raises(GraphError, match=r"stable-4.14 \(amd64\) has no release 4.12.5 \(minVersion\)") as exc:
        pick(client, C("stable-4.14", min_version="4.12.5"))
    assert "from 4.13.2 to 4.14.3" in str(exc.value.hint)
    with pytest.raises(GraphError, match=r"has no release 4.14.9 \(maxVersion\)"):
        pick(client, C("stable-4.14", max_version="4.14.9", shortest_path=True))


def test_min_above_max_is_refused(client: GraphClient) -> None:
    with pytest.raises(ConfigError, match="stable-4.14: minVersion 4.14.2 is above maxVersion 4.14.0"):
        pick(client, C("stable-4.14", min_version="4.14.2", max_version="4.14.0"))


@pytest.mark.parametrize("channels,message", [
    ([C("stable-4.14", min_version="4.14")], "release channel stable-4.14 minVersion '4.14' is not a semantic version"),
    ([C("stable-4.14", type="rhel")], "type 'rhel' is not one of ocp, okd"),
    ([C("stable-4.14"), C("stable-4.14", full=True)], "'stable-4.14' is listed twice"),
    ([], "mirror.platform.channels is empty"),
])
def test_configuration_errors(client: GraphClient, channels: list[C], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        pick(client, *channels)


def test_missing_intermediate_channel_is_named(client: GraphClient) -> None:
    """oc-mirror hops eus-4.12 -> eus-4.13 -> eus-4.14; with no eus-4.13 the error names it."""
    with pytest.raises(GraphError, match="'eus-4.13' has no releases"):
        pick(client, C("eus-4.12"), C("eus-4.14"))


def test_unreachable_service(server: UpdateServer) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(GraphError, match=f"update graph https://127.0.0.1:{port}/api/upgrades_info/v1/graph is unreachable"):
        GraphClient(f"https://127.0.0.1:{port}", ca_file=str(server.ca_file)).graph("stable-4.14")


def test_untrusted_certificate_is_a_named_tls_failure(server: UpdateServer) -> None:
    with pytest.raises(GraphError, match="TLS failed: certificate signed by an unknown CA") as exc:
        GraphClient(server.url).graph("stable-4.14")
    assert "--ca-file" in str(exc.value.hint)


def test_service_error_answer_is_reported_with_its_kind(client: GraphClient, server: UpdateServer) -> None:
    server.fail("/api/upgrades_info/v1/graph", 503)
    with pytest.raises(GraphError, match="answered HTTP 503 for channel stable-4.12 arch amd64: failed_upstream_fetch"):
        client.graph("stable-4.12")


def test_cincinnati_rejects_bad_parameters(client: GraphClient) -> None:
    with pytest.raises(GraphError, match="HTTP 400 .*invalid_params: channel 'Stable_4.14'"):
        client.graph("Stable_4.14")


def test_answer_that_is_not_a_graph(client: GraphClient, server: UpdateServer) -> None:
    server.fail("/api/upgrades_info/v1/graph", 200, b"<html>maintenance</html>", "text/html")
    with pytest.raises(GraphError, match="the answer is not JSON"):
        client.graph("stable-4.13")
    server.fail("/api/upgrades_info/v1/graph", 200, b'{"nodes":[{"version":"4.1.0","payload":"x"}],"edges":[[0,3]]}')
    with pytest.raises(GraphError, match=r"edges\[0\] = \[0, 3\] is not a pair of node indices"):
        client.graph("stable-4.11")
    server.fail("/api/upgrades_info/v1/graph", 200, b'{"nodes":[{"version":"4.1","payload":"x"}],"edges":[]}')
    with pytest.raises(ConfigError, match=r"nodes\[0\].version '4.1' is not a semantic version"):
        client.graph("stable-4.10")


def test_semver_order_matches_blang() -> None:
    order = ["4.14.0-0.nightly", "4.14.0-ec.1", "4.14.0-rc.1", "4.14.0-rc.2", "4.14.0-rc.10", "4.14.0", "4.14.1",
             "4.14.10", "4.15.0-okd-scos.8"]
    assert sorted(order, key=parse_version) == order
    assert parse_version("4.14.0-1") < parse_version("4.14.0-alpha")
    assert parse_version("4.14.1+amd64") == parse_version("4.14.1")
    for bad in ("v4.14.1", "4.14", "4.14.01", "4.14.0-rc.01"):
        with pytest.raises(ConfigError):
            parse_version(bad)
