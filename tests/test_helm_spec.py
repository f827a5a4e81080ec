"""``mirror.helm`` as oc-mirror v2 reads it, and picking an OCI chart tag like ``helm pull --version``."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bundler.content.helm import HelmError, parse_helm, select_tag
from bundler.errors import ConfigError

ISC = """
repositories:
  - name: podinfo
    url: https://stefanprodan.github.io/podinfo
    charts:
      - name: podinfo
        version: 5.0.0
        imagePaths: ["{.spec.template.spec.containers[*].env[*].value}"]
  - name: everything
    url: https://charts.example.com/stable/
  - name: oci
    url: oci://registry.example.com/charts
    charts:
      - name: app
local:
  - name: podinfo-local
    path: /home/user/podinfo-6.0.0.tgz
    platforms: [{os: linux, architecture: amd64}]
"""


def test_parse_the_oc_mirror_shape() -> None:
    spec = parse_helm(yaml.safe_load(ISC))
    podinfo, everything, oci = spec.repositories
    assert (podinfo.name, podinfo.url, podinfo.is_oci) == ("podinfo", "https://stefanprodan.github.io/podinfo", False)
    assert podinfo.charts and podinfo.charts[0].version == "5.0.0"
    assert podinfo.charts[0].image_paths == ["{.spec.template.spec.containers[*].env[*].value}"]
    assert everything.charts is None                     # every chart and version, as oc-mirror does
    assert oci.is_oci and oci.charts and oci.charts[0].version == ""
    (local,) = spec.local
    assert (local.name, local.path, local.platforms) == ("podinfo-local", "/home/user/podinfo-6.0.0.tgz",
                                                         [{"os": "linux", "architecture": "amd64"}])
    assert parse_helm(None).repositories == []


@pytest.mark.parametrize("doc, message", [
    ({"repositories": [{"name": "x"}]}, r"mirror.helm.repositories\[0\].url is required"),
    ({"repositories": [{"name": "x", "url": "ftp://h/c"}]}, "is not an http"),
    ({"repositories": [{"name": "x", "url": "https://h", "charts": [{"version": "1"}]}]},
     r"repositories\[0\].charts\[0\].name is required"),
    ({"local": [{"name": "x"}]}, r"mirror.helm.local\[0\].path is required"),
    ({"local": [{"name": "x", "path": "/p", "imagePaths": ["no braces"]}]}, r"local\[0\].imagePaths\[0\]"),
    ({"local": [{"name": "x", "path": "/p", "valuesFile": "v.yaml"}]}, "unknown field 'valuesFile'"),
    ({"repositories": {"name": "x"}}, "expected a list"),
])
def test_bad_config_names_the_field(doc: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_helm(doc)


@pytest.mark.parametrize("version, want", [
    ("", "1.5.0_build.1"), ("1.3.0", "1.3.0"), ("<1.5", "1.4.2"), ("~1.3", "1.3.0"),
    ("1.5.0+build.1", "1.5.0_build.1"), (">=1.5.0-0", "1.5.0_build.1"),
])
def test_select_tag(version: str, want: str) -> None:
    assert select_tag(["1.3.0", "1.4.2", "1.5.0_build.1", "1.5.0-rc.1", "latest", "sha256-abc.sig"], version) == want


def test_select_tag_without_match() -> None:
    with pytest.raises(HelmError, match="no chart version matches 9.x") as info:
        select_tag(["1.0.0"], "9.x")
    assert "1.0.0" in (info.value.hint or "")
