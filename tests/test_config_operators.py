"""mirror.operators[]: every field oc-mirror knows (v2alpha1 and v1alpha2), oci:// layouts, templates, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bundler import config
from bundler.config import LAYOUT_REGISTRY, ConfigLoadError, Platform
from bundler.isc.support import NOT_APPLICABLE, PENDING
from testkit.isc import V1, isc, layout, warned

# -- operators ---------------------------------------------------------------------------------------

def test_operator_every_field(tmp_path: Path) -> None:
    tpl = tmp_path / "cs.yaml"
    tpl.write_text("apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nspec:\n  priority: -100\n")
    cfg = isc(tmp_path, f"""mirror:
  operators:
  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.16
    full: false
    skipDependencies: true
    targetCatalog: lab/redhat-index
    targetTag: v4.16-lab
    targetCatalogSourceTemplate: {tpl}
    platforms: [{{os: linux, architecture: amd64}}]
    packages:
    - name: cluster-logging
      defaultChannel: stable-6.0
      channels:
      - name: stable-6.0
        minVersion: 6.0.1
        maxVersion: 6.0.3
    - name: rhacs-operator
      minVersion: '4.5.0'
      maxVersion: '4.5.3'
""", require_content=True)
    spec = cfg.operators[0]
    assert str(spec.catalog) == "registry.redhat.io/redhat/redhat-operator-index:v4.16" and spec.layout is None
    assert (spec.full, spec.skip_dependencies) == (False, True)
    assert (spec.target_catalog, spec.target_name, spec.mirror_repository) == ("lab/redhat-index",) * 3
    assert spec.target_tag == spec.mirror_tag == "v4.16-lab"
    assert spec.platforms == [Platform("linux", "amd64")]
    assert spec.catalog_source_template is not None and spec.catalog_source_template.document["spec"]["priority"] == -100
    logging, acs = spec.packages
    assert (logging.default_channel, logging.channels[0].name, logging.channels[0].min_version,
            logging.channels[0].max_version) == ("stable-6.0", "stable-6.0", "6.0.1", "6.0.3")
    assert (acs.min_version, acs.max_version, acs.channels) == ("4.5.0", "4.5.3", [])
    for key in ("targetCatalog", "targetTag", "targetCatalogSourceTemplate", "platforms"):
        assert warned(cfg, f"mirror.operators[0].{key}", PENDING[f"operators.{key}"][:25]), key
    assert warned(cfg, "mirror.operators[0].packages[0].defaultChannel", "not applied yet")


def test_operator_defaults(tmp_path: Path) -> None:
    spec = isc(tmp_path, "mirror:\n  operators:\n  - catalog: quay.io/a/index@sha256:" + "b" * 64 + "\n").operators[0]
    assert (spec.full, spec.skip_dependencies, spec.packages, spec.target_name, spec.mirror_tag) == (
        False, False, [], None, None)
    assert spec.mirror_repository == "a/index"
    assert not spec.platforms and spec.catalog_source_template is None


def test_oci_catalog_relative_to_cwd_as_oc_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout(tmp_path / "work", "redhat-operator-index")
    monkeypatch.chdir(tmp_path / "work")
    cfg = isc(tmp_path, "mirror:\n  operators:\n  - catalog: oci://redhat-operator-index\n"
                        "    packages: [{name: foo}]\n")
    spec = cfg.operators[0]
    assert spec.layout is not None and spec.layout.path == tmp_path / "work" / "redhat-operator-index"
    # oc-mirror mirrors it to <target>/<directory name>:latest
    assert spec.catalog == config.Reference(LAYOUT_REGISTRY, "redhat-operator-index", tag="latest")
    assert warned(cfg, "mirror.operators[0].catalog", "not carried yet")
    assert not cfg.carried_today()


def test_oci_catalog_absolute_beside_config_targets_and_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = layout(tmp_path / "layouts")
    monkeypatch.chdir("/")
    cfg = isc(tmp_path, "mirror:\n  operators:\n  - catalog: oci://layouts/my-index\n"
                        f"  - catalog: oci://{d}@sha256:{'c' * 64}\n    targetCatalog: org/index\n    targetTag: v1\n")
    beside, absolute = cfg.operators
    assert beside.layout is not None and beside.layout.path == d
    assert warned(cfg, "mirror.operators[0].catalog", "not in the working directory; using")
    assert absolute.catalog == config.Reference(LAYOUT_REGISTRY, "org/index", tag="v1", digest="sha256:" + "c" * 64)
    assert absolute.layout is not None and absolute.layout.digest == "sha256:" + "c" * 64


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: None, "does not exist"),
    (lambda d: d.mkdir(), "it has no oci-layout"),
    (lambda d: (d.mkdir(), (d / "oci-layout").write_text("{}")), "it has no index.json"),
    (lambda d: (d.mkdir(), (d / "oci-layout").write_text("{}"), (d / "index.json").write_text("{}")),
     "has no imageLayoutVersion"),
    (lambda d: (d.mkdir(), (d / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}'),
                (d / "index.json").write_text('{"manifests": []}')), "names no image"),
    (lambda d: (d.mkdir(), (d / "oci-layout").write_text("not json"), (d / "index.json").write_text("{}")),
     "is not an OCI image layout"),
    (lambda d: d.write_text("a file"), "is not a directory"),
])
def test_oci_path_that_is_not_a_layout(tmp_path: Path, make: object, message: str) -> None:
    d = tmp_path / "cat"
    make(d)  # type: ignore[operator]
    with pytest.raises(ConfigLoadError) as e:
        isc(tmp_path, f"mirror:\n  operators:\n  - catalog: oci://{d}\n")
    assert re.search(r"isc\.yaml line 5: mirror\.operators\[0\]\.catalog: ", e.value.message), e.value.message
    assert message in e.value.message


def test_two_layouts_that_would_land_on_the_same_mirror_repository(tmp_path: Path) -> None:
    a, b = layout(tmp_path / "a", "index"), layout(tmp_path / "b", "index")
    with pytest.raises(ConfigLoadError, match=rf"operators\[1\]\.catalog: oci://{b} would be mirrored to the same"):
        isc(tmp_path, f"mirror:\n  operators:\n  - catalog: oci://{a}\n  - catalog: oci://{b}\n")
    cfg = isc(tmp_path, f"mirror:\n  operators:\n  - catalog: oci://{a}\n  - catalog: oci://{b}\n    targetCatalog: b/index\n")
    assert [c.mirror_repository for c in cfg.operators] == ["index", "b/index"]


def test_oci_prefix_forms(tmp_path: Path) -> None:
    d = layout(tmp_path)
    with pytest.raises(ConfigLoadError, match="a local OCI layout is written oci://PATH"):
        isc(tmp_path, f"mirror:\n  operators:\n  - catalog: oci:{d}\n")
    assert isc(tmp_path, f"mirror:\n  operators:\n  - catalog: oci:{d}\n", api=V1).operators[0].layout is not None
    with pytest.raises(ConfigLoadError, match="is not a valid repository name"):
        bad = layout(tmp_path, "My_Index")
        isc(tmp_path, f"mirror:\n  operators:\n  - catalog: oci://{bad}\n")


@pytest.mark.parametrize(("doc", "message"), [
    ("apiVersion: v1\nkind: ConfigMap\n", "is not a CatalogSource (apiVersion 'v1', kind 'ConfigMap')"),
    ("apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nspec: {sourceType: configmap}\n",
     "must be of sourceType grpc"),
    ("apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nspec: {configMap: x}\n", "without configMap"),
    ("- a list\n", "not a YAML mapping"),
    ("key: [unclosed\n", "cannot be read as YAML"),
    (None, "does not exist"),
])
def test_template_that_is_not_a_catalogsource(tmp_path: Path, doc: str | None, message: str) -> None:
    tpl = tmp_path / "tpl.yaml"
    if doc is not None:
        tpl.write_text(doc)
    with pytest.raises(ConfigLoadError) as e:
        isc(tmp_path, f"mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    targetCatalogSourceTemplate: {tpl}\n")
    assert "isc.yaml line 6: mirror.operators[0].targetCatalogSourceTemplate: " in e.value.message
    assert message in e.value.message


@pytest.mark.parametrize(("body", "field", "message"), [
    ("- catalog: registry.redhat.io/redhat/redhat-operator-index", "mirror.operators[0].catalog",
     "neither a tag nor a digest"),
    ("- catalog: quay.io/a/i:v1\n    packagez: []", "mirror.operators[0].packagez", "is not a field of this section"),
    ("- catalog: quay.io/a/i:v1\n    full: 'true'", "mirror.operators[0].full", "must be true or false"),
    ("- catalog: quay.io/a/i:v1\n    packages: {name: a}", "mirror.operators[0].packages", "must be a list"),
    ("- catalog: quay.io/a/i:v1\n    targetCatalog: org/index:v1", "mirror.operators[0].targetCatalog",
     "is not a repository path"),
    ("- catalog: quay.io/a/i:v1\n    targetTag: '-bad'", "mirror.operators[0].targetTag", "is not a valid tag"),
    ("- catalog: quay.io/a/i:v1\n    targetName: x", "mirror.operators[0].targetName", "is an oc-mirror v1 field"),
    ("- catalog: quay.io/a/i:v1\n  - catalog: quay.io/a/i:v1", "mirror.operators[1].catalog",
     "quay.io/a/i:v1 would be mirrored to the same repository and tag as mirror.operators[0]"),
    ("- catalog: quay.io/a/i:v1\n    packages: [{name: a}, {name: a}]", "mirror.operators[0].packages[1].name",
     "listed twice"),
    ("- catalog: quay.io/a/i:v1\n    packages: [{name: a, channels: [{name: s}, {name: s}]}]",
     "mirror.operators[0].packages[0].channels[1].name", "listed twice"),
    ("- catalog: quay.io/a/i:v1\n    packages: [{name: a, minVersion: banana}]",
     "mirror.operators[0].packages[0].minVersion", "is not a semantic version"),
    ("- catalog: quay.io/a/i:v1\n    packages: [{name: a, minVersion: 1.0.0, channels: [{name: s, maxVersion: 2.0.0}]}]",
     "mirror.operators[0].packages[0].channels[0]", "cannot be combined with the package's"),
    ("- catalog: quay.io/a/i:v1\n    full: true\n    packages: [{name: a, minVersion: 1.0.0}]",
     "mirror.operators[0].packages[0]", "cannot be combined with full: true"),
    ("- catalog: quay.io/a/i:v1\n    packages: [{name: a, defaultChannel: fast, channels: [{name: stable}]}]",
     "mirror.operators[0].packages[0].defaultChannel", "is not one of the listed channels"),
    ("- catalog: quay.io/a/i:v1\n    packages: [{name: a, minBundle: a.v1}]", "mirror.operators[0].packages[0].minBundle",
     "is an oc-mirror v1 field"),
    ("- catalog: quay.io/a/i:v1\n    packages: [{name: ''}]", "mirror.operators[0].packages[0].name", "non-empty"),
])
def test_operator_bad_input(tmp_path: Path, body: str, field: str, message: str) -> None:
    with pytest.raises(ConfigLoadError) as e:
        isc(tmp_path, f"mirror:\n  operators:\n  {body}\n")
    assert re.search(rf"isc\.yaml line \d+: {re.escape(field)}: ", e.value.message), e.value.message
    assert message in e.value.message


def test_v1alpha2_operator_semantics(tmp_path: Path) -> None:
    cfg = isc(tmp_path, """mirror:
  operators:
  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.12
    targetName: my-index
    originalRef: registry.redhat.io/redhat/redhat-operator-index:v4.12
    full: true
    packages:
    - name: mtc-operator
      minBundle: mtc-operator.v1.7.9
    - name: kiali-ossm
      minVersion: 1.65.0
      channels: [{name: stable, minBundle: kiali.v1.65.0}]
""", api=V1)
    spec = cfg.operators[0]
    assert spec.target_name == "redhat/my-index" == spec.mirror_repository  # targetName replaces the last component
    assert spec.packages[0].min_bundle == "mtc-operator.v1.7.9"
    assert spec.packages[1].channels[0].min_bundle == "kiali.v1.65.0"
    assert warned(cfg, "mirror.operators[0].targetName", "read as targetCatalog: redhat/my-index")
    assert warned(cfg, "mirror.operators[0].originalRef", NOT_APPLICABLE["operators.originalRef"])
    assert warned(cfg, "mirror.operators[0].packages[1]", "oc-mirror v1 carries this range")
    assert warned(cfg, "mirror.operators[0].catalog", "olm.package.required")  # v1 resolved dependencies
    with pytest.raises(ConfigLoadError, match="cannot be used together with minVersion"):
        isc(tmp_path, "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    packages:\n"
                      "    - {name: a, minBundle: a.v1, minVersion: 1.0.0}\n", api=V1)
    skip = isc(tmp_path, "mirror:\n  operators:\n  - catalog: quay.io/a/i:v1\n    skipDependencies: true\n", api=V1)
    assert not warned(skip, "mirror.operators[0].catalog", "olm.package.required")
