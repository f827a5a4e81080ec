"""Images a chart deploys, found by rendering its templates without helm (testkit charts in the shapes
real charts take), plus oc-mirror's imagePaths, env images, the annotation and values fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.content.helm import ChartImages, find_images, load_archive, load_chart
from bundler.content.helm.jsonpath import JSONPath, JSONPathError
from bundler.errors import ConfigError
from testkit.charts import TestChart, all_charts, legacy, tgz, webapp
from testkit.charts_platform import platform

REG = "127.0.0.1:5000"


def images_of(tc: TestChart, **kw: object) -> ChartImages:
    return find_images(load_archive(tc.archive(), f"{tc.name}.tgz"), **kw)  # type: ignore[arg-type]


def by_ref(result: ChartImages) -> dict[str, object]:
    return {i.reference: i for i in result.images}


def test_webapp_every_container_shape() -> None:
    tc = webapp(REG)
    result = images_of(tc)
    assert result.fully_resolved, result.problems
    assert set(result.references) == tc.images
    found = by_ref(result)
    src = {ref: (i.source, i.where) for ref, i in found.items()}  # type: ignore[attr-defined]
    assert src[f"{REG}/apps/webapp:2.3.1"][0] == "manifest"                      # appVersion default tag
    assert "initContainers[migrate]" in src[next(r for r in src if "webapp-migrate@sha256:" in r)][1]
    assert "CronJob" in src[f"{REG}/apps/report-runner:1.10"][1]                  # jobTemplate pod spec
    assert "ephemeralContainers[debugger]" in src[f"{REG}/apps/shell:1.36"][1]
    assert src[f"{REG}/apps/debug-tools:2.0"] == ("env", src[f"{REG}/apps/debug-tools:2.0"][1])
    assert "env[DEBUG_IMAGE]" in src[f"{REG}/apps/debug-tools:2.0"][1]
    assert "tests/test-connection.yaml" in src[f"{REG}/apps/curl:8.5.0"][1]      # test hooks count too
    assert src[f"{REG}/apps/exporter:0.5.0"][0] == "args"                       # --exporter=IMAGE
    assert src[f"{REG}/apps/backup-runner:3.0"] == ("field", src[f"{REG}/apps/backup-runner:3.0"][1])
    assert "BackupPolicy" in src[f"{REG}/apps/backup-runner:3.0"][1]             # {repository, tag} in a CR
    assert not any("cache:6379" in r or "hooks.example.com" in r or "0.0.0.0" in r for r in result.references)


def test_platform_umbrella() -> None:
    tc = platform(REG)
    result = images_of(tc)
    assert set(result.references) == tc.images
    assert {i.reference for i in result.optional} == tc.optional
    assert not result.fully_resolved
    unresolved = [p for p in result.problems if p.kind == "unresolved" and p.line]
    assert [(p.template, p.line) for p in unresolved] == [("platform/templates/agent.yaml", 12)]
    assert "nil pointer evaluating interface {}.agentTag" in unresolved[0].message
    sources = {i.reference: i.source for i in result.images}
    assert sources[f"{REG}/platform/agent:3.1.0"] == "values"          # fallback for the unresolved image
    assert sources[f"{REG}/platform/operand:5.2.0"] == "annotation"    # only the annotation knows it
    assert sources[f"{REG}/library/redis:7.2.4"] == "manifest"         # alias "cache", parent's tag
    assert sources[f"{REG}/library/redis:7.2.0"] == "manifest"         # alias "queue", appVersion tag
    busybox = next(i for i in result.images if "busybox" in i.reference)
    assert busybox.implicit_latest and busybox.original == f"{REG}/tools/busybox"
    assert not tc.by_hand & set(result.references) and not tc.by_hand & {i.reference for i in result.optional}


def test_global_image_registry_rewrites_every_helper_image() -> None:
    result = find_images(load_archive(platform(REG).archive(), "p.tgz"),
                         values={"global": {"imageRegistry": "mirror.example.com:8443"}})
    helper_made = [r for r in result.references if "redis" in r or "platform/api" in r or "operator" in r]
    assert helper_made and all(r.startswith("mirror.example.com:8443/") for r in helper_made)


def test_v1_chart() -> None:
    tc = legacy(REG)
    result = images_of(tc)
    assert result.fully_resolved and set(result.references) == tc.images


def test_directory_charts_give_the_same_images(tmp_path: Path) -> None:
    for tc in all_charts(REG):
        assert images_of(tc).references == find_images(load_chart(tc.write_dir(tmp_path))).references


def test_share_of_test_chart_images_found() -> None:
    """The figure the report quotes: images needed with default values vs. images found."""
    needed = found = 0
    for tc in all_charts(REG):
        result = images_of(tc)
        need = tc.images | tc.by_hand
        needed += len(need)
        found += len(need & set(result.references))
    assert (found, needed) == (19, 20)          # all but the image only an operator reads at runtime


def test_image_paths_as_oc_mirror_evaluates_them() -> None:
    tc = webapp(REG)
    tc.files["templates/custom.yaml"] = ("apiVersion: example.com/v1\nkind: Workload\nspec:\n  runner:\n"
                                         f"    images: [\"{REG}/apps/runner:1\", \"not an image\"]\n")
    plain = images_of(tc)
    assert f"{REG}/apps/runner:1" not in plain.references
    with_path = images_of(tc, image_paths=["{.spec.runner.images[*]}"])
    assert f"{REG}/apps/runner:1" in with_path.references
    assert with_path.fully_resolved           # "not", "an", "image" are dropped, as oc-mirror drops them


def test_bad_image_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"imagePaths entry '\{.spec\[\?bad\]\}'"):
        images_of(webapp(REG), image_paths=["{.spec[?bad]}"])


def _chart(templates: dict[str, str], values: str = "") -> bytes:
    files = {"Chart.yaml": "apiVersion: v2\nname: t\nversion: 0.1.0\nappVersion: \"1\"\n", "values.yaml": values}
    files.update({f"templates/{k}": v for k, v in templates.items()})
    return tgz("t", files)


POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: {img}\n"


def test_field_that_is_not_an_image_is_a_problem() -> None:
    result = find_images(load_archive(_chart({"pod.yaml": POD.format(img="'UPPER/Case:1'")}), "t.tgz"))
    assert not result.fully_resolved
    (problem,) = result.problems
    assert problem.kind == "not-an-image" and problem.template == "t/templates/pod.yaml"
    assert "containers[c].image" in problem.message and "UPPER/Case:1" in problem.message


def test_broken_yaml_document_is_skipped_the_rest_is_read() -> None:
    bad = "apiVersion: v1\nkind: Pod\nspec: [unclosed\n---\n" + POD.format(img="quay.io/ok/img:1")
    result = find_images(load_archive(_chart({"pod.yaml": bad}), "t.tgz"))
    assert result.references == ["quay.io/ok/img:1"]
    assert [p.kind for p in result.problems] == ["yaml"]
    assert "rendered document 1 is not valid YAML" in result.problems[0].message


def test_template_syntax_error_skips_that_file_only() -> None:
    charts = _chart({"a.yaml": "{{ if .Values.x }}never closed", "b.yaml": POD.format(img="quay.io/ok/b:2")})
    result = find_images(load_archive(charts, "t.tgz"))
    assert result.references == ["quay.io/ok/b:2"]
    assert [(p.kind, p.template, p.line) for p in result.problems] == [("parse", "t/templates/a.yaml", 1)]


def test_unresolved_image_with_no_fallback_is_reported_not_guessed() -> None:
    tpl = POD.format(img='{{ .Values.img.registry }}/x:{{ required "set img.tag" .Values.img.tag }}')
    result = find_images(load_archive(_chart({"pod.yaml": tpl}, "img:\n  registry: quay.io\n"), "t.tgz"))
    assert result.images == []
    kinds = sorted(p.kind for p in result.problems)
    assert kinds == ["unresolved", "unresolved"]
    assert any("required value missing: set img.tag" in p.message and p.line == 8 for p in result.problems)


def test_values_only_images_are_optional_when_the_chart_renders() -> None:
    values = "extra:\n  image:\n    repository: quay.io/x/extra\n    tag: \"2\"\n  enabled: false\n"
    result = find_images(load_archive(_chart({"pod.yaml": POD.format(img="quay.io/x/main:1")}, values), "t.tgz"))
    assert result.references == ["quay.io/x/main:1"]
    assert [i.reference for i in result.optional] == ["quay.io/x/extra:2"]


def test_bare_image_name_means_latest_and_is_flagged() -> None:
    result = find_images(load_archive(_chart({"pod.yaml": POD.format(img="nginx")}), "t.tgz"))
    (img,) = result.images
    assert (img.reference, img.implicit_latest) == ("docker.io/library/nginx:latest", True)


def test_missing_subchart_is_a_problem_naming_it() -> None:
    files = {"Chart.yaml": "apiVersion: v2\nname: t\nversion: 0.1.0\ndependencies:\n"
                           "  - name: db\n    version: 1.x\n    repository: https://charts.example.com\n"}
    result = find_images(load_archive(tgz("t", files), "t.tgz"))
    (p,) = result.problems
    assert p.kind == "missing-dependency" and p.template == "t"
    assert "dependency db 1.x from https://charts.example.com is not in charts/" in p.message


@pytest.mark.parametrize("path, want", [
    ("{.spec.containers[*].image}", "a:1 b:2"),
    ("{..image}", "a:1 b:2"),
    ("{.spec.containers[?(@.name==\"b\")].image}", "b:2"),
    ("{.spec.containers[0].env[*].value}", "x y"),
    ("{range .spec.containers[*]}{.name}={.image};{end}", "a=a:1;b=b:2;"),
    ("{.spec.missing[*].image}", ""),
    ("{.spec.containers[-1:].image}", "b:2"),
    ("{.spec.containers[*]['image']}", "a:1 b:2"),
])
def test_jsonpath_subset(path: str, want: str) -> None:
    doc = {"spec": {"containers": [{"name": "a", "image": "a:1", "env": [{"value": "x"}, {"value": "y"}]},
                                   {"name": "b", "image": "b:2"}]}}
    assert JSONPath(path).execute(doc) == want


@pytest.mark.parametrize("path", ["no braces", "{.a[}", "{.a[?(@.x ~ 1)]}", "{.a[x]}"])
def test_jsonpath_rejects(path: str) -> None:
    with pytest.raises(JSONPathError):
        JSONPath(path)
