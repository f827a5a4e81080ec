"""Loading charts (directory, archive, nested archives, v1 requirements), dependency processing
(aliases, conditions, tags), values coalescing with globals, semver ranges, and every bad input."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from bundler.content.helm import ChartError, load_archive, load_chart, package_chart
from bundler.content.helm.semver import SemverError, matches
from bundler.content.helm.values import coalesce_values, process_dependencies
from testkit.charts import legacy, tgz, webapp, write_dir
from testkit.charts_platform import platform


def test_directory_and_archive_load_the_same_chart(tmp_path: Path) -> None:
    tc = webapp()
    from_dir = load_chart(tc.write_dir(tmp_path))
    from_tgz = load_archive(tc.archive(), "webapp.tgz")
    for c in (from_dir, from_tgz):
        assert (c.name, c.version, c.app_version, c.api_version) == ("webapp", "1.4.2", "2.3.1", "v2")
        assert sorted(t.name for t in c.templates) == sorted(n for n in tc.files if n.startswith("templates/"))
        assert c.values["image"]["repository"] == "registry.example.com/apps/webapp"
        assert c.values["replicaCount"] == 2.0          # numbers are float64, as in helm
    assert not any(f.name == ".helmignore" and False for f in from_dir.files)


def test_helmignore_applies_to_directories(tmp_path: Path) -> None:
    tc = webapp()
    tc.files[".git/config"] = "secret"
    tc.files["templates/.hidden.yaml"] = "{{ fail }}"    # helm's default rule: templates/.?*
    tc.files["notes.swp"] = "x"
    chart = load_chart(tc.write_dir(tmp_path))
    names = {f.name for f in chart.files} | {t.name for t in chart.templates}
    assert not names & {".git/config", "templates/.hidden.yaml", "notes.swp"}


def test_subcharts_as_archives_and_directories_nested() -> None:
    chart = load_archive(platform().archive(), "platform.tgz")
    subs = {c.name: c for c in chart.dependencies}
    assert set(subs) == {"common", "redis", "metrics", "ui"}
    assert subs["common"].is_library
    assert [d.name for d in subs["redis"].dependencies] == ["common"]      # redis bundles its own common
    assert subs["redis"].dependencies[0].version == "2.0.0"
    assert subs["redis"].full_path() == "platform/charts/redis"


def test_aliases_conditions_and_tags() -> None:
    chart = load_archive(platform().archive(), "platform.tgz")
    processed = process_dependencies(chart)
    names = sorted(c.name for c in processed.chart.dependencies)
    assert names == ["cache", "common", "queue", "ui"]                     # metrics: condition false
    assert processed.missing == []
    assert sorted(c.name for c in chart.dependencies) == ["common", "metrics", "redis", "ui"]  # untouched
    # the first condition path that resolves to a bool decides: metrics.enabled (false) hides the global one
    first = process_dependencies(chart, {"global": {"metrics": {"enabled": True}}})
    assert "metrics" not in [c.name for c in first.chart.dependencies]
    off = process_dependencies(chart, {"queue": {"enabled": False}, "tags": {"frontend": False},
                                       "metrics": {"enabled": None}, "global": {"metrics": {"enabled": True}}})
    assert sorted(c.name for c in off.chart.dependencies) == ["cache", "common", "metrics"]
    cache = next(c for c in processed.chart.dependencies if c.name == "cache")
    assert cache.full_path() == "platform/charts/cache"


def test_values_coalesce_with_globals_and_aliases() -> None:
    chart = load_archive(platform().archive(), "platform.tgz")
    processed = process_dependencies(chart)
    vals = coalesce_values(processed.chart, {"cache": {"image": {"digest": "sha256:" + "a" * 64}}})
    assert vals["cache"]["image"] == {"registry": "docker.io", "repository": "library/redis", "tag": "7.2.4",
                                      "digest": "sha256:" + "a" * 64}   # given values over parent over subchart
    assert vals["queue"]["image"]["tag"] == ""                        # default kept for the other alias
    assert vals["cache"]["global"]["imageRegistry"] == "registry.example.com"   # global copied down
    assert vals["cache"]["common"]["global"]["imageRegistry"] == "registry.example.com"


def test_null_in_parent_removes_a_subchart_default() -> None:
    chart = load_archive(platform().archive(), "platform.tgz")
    vals = coalesce_values(process_dependencies(chart).chart, {"cache": {"metrics": None}})
    assert "metrics" not in vals["cache"]


def test_v1_chart_with_requirements_yaml() -> None:
    chart = load_archive(legacy().archive(), "legacy.tgz")
    assert chart.api_version == "v1"
    assert [(r.name, r.condition) for r in chart.requirements] == [("worker", "worker.enabled")]
    off = process_dependencies(chart, {"worker": {"enabled": False}})
    assert off.chart.dependencies == []


def test_missing_dependency_is_reported_when_enabled() -> None:
    tc = legacy()
    del tc.files["charts/worker/Chart.yaml"], tc.files["charts/worker/values.yaml"]
    del tc.files["charts/worker/templates/worker.yaml"]
    chart = load_archive(tc.archive(), "legacy.tgz")
    assert process_dependencies(chart).missing == ["legacy-app: dependency worker 1.0.0 from file://../worker is "
                                                   "not in charts/"]
    assert process_dependencies(chart, {"worker": {"enabled": False}}).missing == []


def test_package_chart_is_deterministic_and_loads_back(tmp_path: Path) -> None:
    root = webapp().write_dir(tmp_path)
    first, second = package_chart(root), package_chart(root)
    assert first == second
    chart = load_archive(first, "packaged")
    assert chart.label == "webapp 1.4.2"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(first))) as tar:
        assert tar.getnames()[0] == "webapp/Chart.yaml"


@pytest.mark.parametrize("constraint, version, ok", [
    ("^1.2.3", "1.9.0", True), ("^1.2.3", "2.0.0", False), ("~1.2", "1.2.9", True), ("~1.2", "1.3.0", False),
    ("2.x.x", "2.1.0", True), ("2.x.x", "3.0.0", False), ("*", "1.0.0-rc.1", False), (">=1.21-0", "1.21.0-rc.1", True),
    ("1.2 - 1.4", "1.3.7", True), (">1.0 <2 || 3.x", "3.1.0", True), ("!=1.2.3", "1.2.3", False), ("", "0.0.1", True),
])
def test_semver_constraints(constraint: str, version: str, ok: bool) -> None:
    assert matches(constraint, version) is ok


def test_semver_rejects_nonsense() -> None:
    with pytest.raises(SemverError):
        matches("~>> 1", "1.0.0")


# -- bad input ---------------------------------------------------------------------------------------

def test_not_a_chart_directory(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hello")
    with pytest.raises(ChartError, match=r"is not a chart: Chart.yaml is missing") as info:
        load_chart(tmp_path)
    assert str(tmp_path) in info.value.message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match="does not exist"):
        load_chart(tmp_path / "nope.tgz")


def test_corrupt_and_truncated_archives(tmp_path: Path) -> None:
    good = webapp().archive()
    (tmp_path / "trunc.tgz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ChartError, match=r"trunc.tgz is a corrupt chart archive") as info:
        load_chart(tmp_path / "trunc.tgz")
    assert info.value.hint and "download the chart again" in info.value.hint
    (tmp_path / "plain.tgz").write_bytes(b"PK\x03\x04 not gzip")
    with pytest.raises(ChartError, match="not gzip-compressed"):
        load_chart(tmp_path / "plain.tgz")
    with pytest.raises(ChartError, match="corrupt chart archive"):
        load_archive(gzip.compress(b"this is not a tar stream" * 40), "x.tgz")


def test_archive_escaping_its_directory() -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:") as tar:
        data = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n"
        info = tarfile.TarInfo("evil/../../etc/Chart.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ChartError, match="outside the base directory"):
        load_archive(gzip.compress(raw.getvalue()), "evil.tgz")


@pytest.mark.parametrize("chart_yaml, message", [
    ("apiVersion: v2\nversion: 1.0.0\n", "name is required"),
    ("apiVersion: v2\nname: x\n", "of chart x: version is required"),
    ("apiVersion: v2\nname: x\nversion: one\n", "version 'one' is not a semantic version"),
    ("apiVersion: v2\nname: x\nversion: 1.0.0\ntype: plugin\n", "type must be application or library"),
    ("apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n- name: a\n  alias: bad alias\n", "invalid alias"),
    ("apiVersion: v2\nname: x\nversion: 1.0.0\ndependencies:\n- name: a\n- name: a\n", "more than one dependency"),
    ("name: [unclosed\n", "Chart.yaml is not valid YAML"),
    ("- a list\n", "Chart.yaml is not a map"),
])
def test_bad_chart_yaml(chart_yaml: str, message: str) -> None:
    with pytest.raises(ChartError, match=message) as info:
        load_archive(tgz("x", {"Chart.yaml": chart_yaml}), "x-1.0.0.tgz")
    assert "x-1.0.0.tgz" in info.value.message


def test_bad_values_names_chart_version_and_file() -> None:
    with pytest.raises(ChartError) as info:
        load_archive(tgz("x", {"Chart.yaml": "apiVersion: v2\nname: x\nversion: 1.2.3\n",
                               "values.yaml": "- not\n- a map\n"}), "x.tgz")
    assert "chart x 1.2.3 (x.tgz): values.yaml cannot be loaded" in info.value.message


def test_broken_subchart_names_parent_and_subchart() -> None:
    files = {"Chart.yaml": "apiVersion: v2\nname: parent\nversion: 1.0.0\n",
             "charts/child-0.1.0.tgz": b"\x1f\x8b\x08garbage"}
    with pytest.raises(ChartError) as info:
        load_archive(tgz("parent", files), "parent.tgz")
    assert "subchart child-0.1.0.tgz in chart parent 1.0.0" in info.value.message


def test_values_type_mismatch_on_subchart(tmp_path: Path) -> None:
    files = {"Chart.yaml": "apiVersion: v2\nname: parent\nversion: 1.0.0\n", "values.yaml": "child: 3\n",
             "charts/child/Chart.yaml": "apiVersion: v2\nname: child\nversion: 1.0.0\n"}
    chart = load_chart(write_dir(tmp_path / "parent", files))
    with pytest.raises(ChartError, match="type mismatch on child"):
        coalesce_values(chart, None)
