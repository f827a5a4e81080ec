"""``bundler list``: releases of a channel through a protocol-real update service (testkit.graph_server) or
the release tags a real registry holds; operators of a catalog in a real registry or an OCI layout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.cli import invoke
from testkit.graph_server import UpdateServer, sample_universe
from testkit.realistic_fixtures import RealWorld


@pytest.fixture(scope="module")
def update_service() -> Iterator[UpdateServer]:
    with UpdateServer(sample_universe()) as server:
        yield server


def test_list_releases_through_the_update_graph(update_service: UpdateServer) -> None:
    base = ("list", "releases", "--graph-url", update_service.url, "--ca-file", update_service.ca_file)
    code, out = invoke(*base, "--channel", "stable-4.13")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("4.12.3 ") and "4.13.4" in lines[-2] and "(channel head)" in lines[-2]
    assert "the head is 4.13.4" in lines[-1]
    code, out = invoke(*base, "--channel", "stable-4.13", "--version", "4.13.2")
    assert code == 0, out
    assert "quay.io/openshift-release-dev/ocp-release" in out and "updates to: 4.13.3" in out
    code, out = invoke(*base, "--channel", "stable-4.13", "--version", "4.11.1")
    assert code == 1 and "release 4.11.1 is not in channel stable-4.13" in out
    code, out = invoke(*base, "--channel", "stable-9.9")
    assert code == 1 and "stable-9.9" in out


def test_list_release_tags_of_a_registry(realistic: RealWorld) -> None:
    code, out = invoke("list", "releases", "--repository", f"{realistic.upstream.host}/openshift-release-dev/ocp-release",
                       "--authfile", realistic.authfile, "--ca-file", realistic.ca_file)
    assert code == 0, out
    assert out.splitlines()[:2] == [f"{realistic.upstream.host}/openshift-release-dev/ocp-release:4.16.8-x86_64",
                                    f"{realistic.upstream.host}/openshift-release-dev/ocp-release:4.16.9-x86_64"]


def test_list_operators_packages_defaults_and_heads(realistic: RealWorld, tmp_path: Path) -> None:
    catalog = f"{realistic.upstream.host}/redhat/redhat-operator-index:v4.16"
    common = ("--authfile", realistic.authfile, "--ca-file", realistic.ca_file)
    code, out = invoke("list", "operators", "--catalog", catalog, *common)
    assert code == 0, out
    row = next(line for line in out.splitlines() if line.startswith("cluster-logging "))
    assert row.split()[1] == "stable-6.0"
    assert "stable-5.9 (cluster-logging.v5.9.8)" in row and "stable-6.0 (cluster-logging.v6.0.2)" in row
    assert "7 packages in" in out
    code, out = invoke("list", "operators", "--catalog", catalog, "--package", "rhacs-operator", *common)
    assert code == 0, out
    assert "default channel stable" in out and "channel stable: head rhacs-operator.v4.6.0" in out
    assert out.index("rhacs-operator.v4.5.0 ") < out.index("rhacs-operator.v4.5.3 ")
    code, out = invoke("list", "operators", "--catalog", catalog, "--package", "nope", *common)
    assert code == 1 and "package 'nope' is not in catalog" in out and "web-terminal" in out
    layout = realistic.config("operators-oci.yaml", tmp_path).parent / "files" / "catalogs" / "certified-index"
    code, out = invoke("list", "operators", "--catalog", f"oci://{layout}", *common)
    assert code == 0 and "gpu-operator-certified" in out and "v24.6 (gpu-operator-certified.v24.6.1)" in out, out
