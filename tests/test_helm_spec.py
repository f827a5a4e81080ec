"""``mirror.helm`` as oc-mirror v2 reads it, through the one front door (``bundler.config`` / ``isc``), and
picking an OCI chart tag like ``helm pull --version``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.config import ConfigLoadError
from bundler.content.helm import HelmError, select_tag
from bundler.content.helm.kind import check_image_paths
from bundler.errors import ConfigError
from testkit.isc import isc, warned

ISC = """mirror:
  helm:
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


def test_parse_the_oc_mirror_shape(tmp_path: Path) -> None:
    cfg = isc(tmp_path, ISC, require_content=True)      # charts alone are content bundler carries
    podinfo, everything, oci = cfg.helm.repositories
    assert (podinfo.name, podinfo.url, podinfo.is_oci) == ("podinfo", "https://stefanprodan.github.io/podinfo", False)
    assert podinfo.charts and podinfo.charts[0].version == "5.0.0"
    assert podinfo.charts[0].image_paths == ["{.spec.template.spec.containers[*].env[*].value}"]
    assert podinfo.charts[0].where.endswith("line 9: mirror.helm.repositories[0].charts[0]")
    assert everything.charts is None                     # every chart and version, as oc-mirror does
    assert oci.is_oci and oci.charts and oci.charts[0].version is None
    (local,) = cfg.helm.local
    assert local.name == "podinfo-local" and str(local.path) == "/home/user/podinfo-6.0.0.tgz"
    assert [str(p) for p in local.platforms] == ["linux/amd64"]
    assert not warned(cfg, "mirror.helm.local[0].platforms", "")  # applied: the chart's images are narrowed
    assert not any("Helm charts and their images are not carried" in w for w in cfg.warnings)
    check_image_paths(cfg.helm)                          # valid JSONPath: no error


@pytest.mark.parametrize("body, message", [
    ("repositories: [{name: x}]", r"repositories\[0\]\.url: must be a non-empty string"),
    ("repositories: [{name: x, url: 'ftp://h/c'}]", "is not a chart repository URL"),
    ("repositories: [{name: x, url: 'oci://'}]", "is not a chart repository URL"),
    ("repositories: [{name: x, url: 'https://h', charts: [{version: '1'}]}]",
     r"repositories\[0\]\.charts\[0\]\.name: must be a non-empty string"),
    ("repositories: [{name: x, url: 'oci://h/charts'}]", r"repositories\[0\]\.charts: is required for an oci://"),
    ("local: [{name: x}]", r"mirror\.helm\.local\[0\]\.path: is required"),
    ("local: [{name: x, path: /p, valuesFile: v.yaml}]", r"local\[0\]\.valuesFile: is not a field"),
    ("repositories: {name: x}", "must be a list"),
    ("repositories: [{name: x, url: 'https://me:s3cret@h/c'}]", r"url: holds credentials"),
])
def test_bad_config_names_the_field(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigLoadError, match=message) as info:
        isc(tmp_path, f"mirror:\n  helm:\n    {body}\n")
    assert "isc.yaml line" in info.value.message and "s3cret" not in str(info.value)


def test_image_paths_are_checked_before_anything_is_fetched(tmp_path: Path) -> None:
    cfg = isc(tmp_path, "mirror:\n  helm:\n    local:\n    - name: x\n      path: /p\n"
                        "      imagePaths: ['{.spec.containers[*].image}', 'no braces']\n")
    with pytest.raises(ConfigError, match=r"isc\.yaml line 6: mirror\.helm\.local\[0\]\.imagePaths\[1\]: "
                                          r"'no braces' is not JSONPath"):
        check_image_paths(cfg.helm)


def test_a_path_on_a_repository_chart_is_warned_about(tmp_path: Path) -> None:
    cfg = isc(tmp_path, "mirror:\n  helm:\n    repositories:\n    - name: r\n      url: https://h/c\n"
                        "      charts: [{name: a, path: /x.tgz}]\n")
    assert warned(cfg, "mirror.helm.repositories[0].charts[0].path", "applies to mirror.helm.local charts only")


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
