"""Every field of oc-mirror's ImageSetConfiguration / DeleteImageSetConfiguration is read into typed settings,
with oc-mirror's defaults and v1alpha2 differences; fields bundler does not apply yet are warned about."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bundler import config
from bundler.config import ConfigLoadError, Platform
from bundler.isc.images import go_regex
from bundler.isc.support import PENDING
from testkit.isc import V1, disc, isc, layout, warned

# -- platform --------------------------------------------------------------------------------------

def test_platform_every_field(tmp_path: Path) -> None:
    cfg = isc(tmp_path, """mirror:
  platform:
    graph: true
    kubeVirtContainer: true
    architectures: [amd64, s390x, multi]
    channels:
    - name: stable-4.16
    - name: eus-4.14
      type: ocp
      minVersion: 4.14.10
      maxVersion: 4.14.38
      shortestPath: true
    - name: 4-scos-stable
      type: okd
      full: true
""")
    p = cfg.platform
    assert p.graph and p.kubevirt_container
    assert p.architectures == ["amd64", "s390x", "multi"] == p.release_architectures
    head, eus, okd = p.channels
    assert (head.name, head.type, head.heads_only, head.full) == ("stable-4.16", "ocp", True, False)
    assert (eus.min_version, eus.max_version, eus.shortest_path, eus.heads_only) == ("4.14.10", "4.14.38", True, False)
    assert (okd.type, okd.full) == ("okd", True)
    for key in ("channels", "graph", "kubeVirtContainer", "architectures"):  # applied since issue 9
        assert f"platform.{key}" not in PENDING and not warned(cfg, f"mirror.platform.{key}", ""), key
    assert cfg.carried_today()


def test_platform_defaults_and_platforms(tmp_path: Path) -> None:
    cfg = isc(tmp_path, "mirror:\n  platform:\n    channels: [{name: stable-4.16}]\n")
    assert cfg.platform.release_architectures == ["amd64"]  # oc-mirror's default
    cfg = isc(tmp_path, """mirror:
  platform:
    channels: [{name: stable-4.17}]
    platforms:
    - {os: linux, architecture: amd64}
    - {os: linux, architecture: arm64}
""")
    assert cfg.platform.platforms == [Platform("linux", "amd64"), Platform("linux", "arm64")]
    assert cfg.platform.release_architectures == ["multi"]
    assert str(cfg.platform.platforms[1]) == "linux/arm64"


def test_release_wins_over_channels_as_in_oc_mirror(tmp_path: Path) -> None:
    cfg = isc(tmp_path, """mirror:
  platform:
    release: quay.io/openshift-release-dev/ocp-release:4.16.8-x86_64
    releases:
    - quay.io/openshift-release-dev/ocp-release:4.16.9-x86_64
    - name: quay.io/openshift-release-dev/ocp-release:4.16.10-x86_64
    channels: [{name: stable-4.16}]
""", require_content=True)
    assert [r.tag for r in cfg.releases] == ["4.16.8-x86_64", "4.16.9-x86_64", "4.16.10-x86_64"]
    assert cfg.platform.channels == []
    assert warned(cfg, "mirror.platform.channels", "is ignored because mirror.platform.release is set")


@pytest.mark.parametrize(("body", "field", "message"), [
    ("architectures: [x86_64]", "mirror.platform.architectures[0]", "'x86_64' is not a release architecture"),
    ("architectures: [riscv64]", "mirror.platform.architectures[0]", "not a release architecture"),
    ("platforms: [{os: linux, architecture: aarch64}]", "mirror.platform.platforms[0].architecture",
     "'aarch64' is not an architecture"),
    ("platforms: [{os: linx, architecture: amd64}]", "mirror.platform.platforms[0].os", "not an operating system"),
    ("platforms: [linux/amd64]", "mirror.platform.platforms[0]", "must be a mapping"),
    ("platforms: [{os: linux, architecture: amd64, variant: v8}]", "mirror.platform.platforms[0].variant",
     "is not a field"),
    ("platforms: [{os: linux}]", "mirror.platform.platforms[0].architecture", "must be a non-empty string"),
    ("architectures: [amd64]\n    platforms: [{os: linux, architecture: amd64}]", "mirror.platform.platforms",
     "cannot be used together with platform.architectures"),
    ("channels: [{name: a, type: rhel}]", "mirror.platform.channels[0].type", "'rhel' is not a platform type"),
    ("channels: [{name: a}, {name: a}]", "mirror.platform.channels[1].name", "listed twice"),
    ("channels: [{name: a, minVersion: '4.15'}]", "mirror.platform.channels[0].minVersion", "not a release version"),
    ("channels: [{name: a, minVersion: 4.15}]", "mirror.platform.channels[0].minVersion", "must be a string"),
    ("channels: [{name: a, minVersion: 4.16.2, maxVersion: 4.16.1}]", "mirror.platform.channels[0].maxVersion",
     "lower than minVersion"),
    ("channels: [{name: a, shortestPath: 'yes'}]", "mirror.platform.channels[0].shortestPath", "true or false"),
    ("channels: [{name: a, minversion: 4.1.1, minVersion: 4.1.1}]", "mirror.platform.channels[0].minVersion",
     "given twice"),
    ("release: quay.io/openshift-release-dev/ocp-release", "mirror.platform.release", "neither a tag nor a digest"),
    ("graph: 1", "mirror.platform.graph", "must be true or false"),
])
def test_platform_bad_input(tmp_path: Path, body: str, field: str, message: str) -> None:
    with pytest.raises(ConfigLoadError) as e:
        isc(tmp_path, f"mirror:\n  platform:\n    {body}\n")
    assert re.search(rf"isc\.yaml line \d+: {re.escape(field)}: ", e.value.message), e.value.message
    assert message in e.value.message
    if "architecture" in field and "aarch64" in body:
        assert "aarch64 is called arm64" in str(e.value.hint)


# -- additionalImages, blockedImages, samples, helm ----------------------------------------------------

def test_additional_images_every_field(tmp_path: Path) -> None:
    d = layout(tmp_path, "img")
    cfg = isc(tmp_path, f"""mirror:
  additionalImages:
  - name: registry.redhat.io/ubi9/ubi:latest
  - name: registry.redhat.io/rhel9/support-tools@sha256:{"d" * 64}
    targetRepo: tools/support
    targetTag: "9.4"
    platforms: [{{os: linux, architecture: arm64}}]
  - name: quay.io/a/b:v1@sha256:{"e" * 64}
  - name: oci://{d}
    targetTag: v2
""", require_content=True)
    plain, tools, both, oci = cfg.additional
    assert plain.image is not None and (plain.mirror_repository, plain.mirror_tag) == ("ubi9/ubi", "latest")
    assert (tools.mirror_repository, tools.mirror_tag, tools.platforms) == ("tools/support", "9.4",
                                                                            [Platform("linux", "arm64")])
    assert both.image is not None and (both.image.tag, both.image.digest) == ("v1", "sha256:" + "e" * 64)
    assert oci.image is None and oci.layout is not None and oci.mirror_tag == "v2"
    assert [str(r) for r in cfg.additional_images] == [str(a.image) for a in (plain, tools, both)]
    assert oci.reference == config.Reference(config.LAYOUT_REGISTRY, d.as_posix().lstrip("/"), tag="v2")
    assert not [w for w in cfg.warnings if "mirror.additionalImages" in w]  # every field is applied


@pytest.mark.parametrize(("body", "field", "message"), [
    ("- name: registry.redhat.io/ubi9/ubi", "mirror.additionalImages[0].name", "neither a tag nor a digest"),
    ("- name: 'NOT A REF'", "mirror.additionalImages[0].name", "not an image reference"),
    ("- name: quay.io/a/b:v1\n    targetRepo: Org/Repo", "mirror.additionalImages[0].targetRepo", "not a repository path"),
    ("- name: quay.io/a/b:v1\n    tag: v2", "mirror.additionalImages[0].tag", "is not a field"),
    ("- quay.io/a/b:v1", "mirror.additionalImages[0]", "must be a mapping"),
])
def test_additional_images_bad_input(tmp_path: Path, body: str, field: str, message: str) -> None:
    with pytest.raises(ConfigLoadError) as e:
        isc(tmp_path, f"mirror:\n  additionalImages:\n  {body}\n")
    assert re.search(rf"isc\.yaml line \d+: {re.escape(field)}: ", e.value.message), e.value.message
    assert message in e.value.message


def test_blocked_images_are_go_regexes(tmp_path: Path) -> None:
    cfg = isc(tmp_path, r"""mirror:
  additionalImages: [{name: quay.io/a/b:v1}]
  blockedImages:
  - name: ^quay\.io/unwanted/
  - name: alpine
  - name: '[[:alpha:]]+-tools:latest\z'
  - name: '\Qregistry.example.com/a+b\E'
""")
    unwanted, alpine, tools, literal = cfg.blocked_images
    assert unwanted.blocks("quay.io/unwanted/x:1") and not unwanted.blocks("docker.io/quay.io/unwanted/x:1")
    assert alpine.blocks("docker.io/library/alpine:3.20")  # unanchored, as Go's MatchString
    assert alpine.blocks("a:1", "mirror.example.com/alpine/x:1")  # the mirror reference counts too (oc-mirror v2)
    assert tools.blocks("quay.io/x/debug-tools:latest") and not tools.blocks("quay.io/x/debug-tools:latest2")
    assert literal.blocks("registry.example.com/a+b:1") and not literal.blocks("registry.example.com/aab:1")
    assert not warned(cfg, "mirror.blockedImages", "")  # applied at export (tests/test_habits_configs.py)


@pytest.mark.parametrize(("pattern", "message"), [
    ("'(unclosed'", "is not a valid regular expression"),
    ("'^(?=quay)'", "lookaround assertions are not supported by Go"),
    ("'(a)\\1'", "backreferences"),
    ("'[[:nosuch:]]'", "unknown character class"),
])
def test_blocked_image_regex_that_does_not_compile(tmp_path: Path, pattern: str, message: str) -> None:
    with pytest.raises(ConfigLoadError) as e:
        isc(tmp_path, f"mirror:\n  additionalImages: [{{name: quay.io/a/b:v1}}]\n  blockedImages:\n  - name: {pattern}\n")
    assert "isc.yaml line 6: mirror.blockedImages[0].name: " in e.value.message
    assert message in e.value.message


def test_go_regex_translations() -> None:
    assert go_regex(r"a\z").search("xa") and not go_regex(r"a\z").search("a\n")
    assert go_regex("[[:digit:]]+").fullmatch("123")


def test_samples_list_form_and_mapping_form(tmp_path: Path) -> None:
    listed = isc(tmp_path, "mirror:\n  samples:\n  - name: ruby\n  - name: python\n"
                           "  - name: registry.redhat.io/ubi9/nodejs-20:1-59\n", require_content=True).samples
    assert listed is not None and listed.from_release and listed.streams == ["ruby", "python"]
    assert [str(i) for i in listed.images] == ["registry.redhat.io/ubi9/nodejs-20:1-59"]
    (tmp_path / "images.txt").write_text("quay.io/a/b:v1\n")
    mapped = isc(tmp_path, "mirror:\n  samples:\n    fromRelease: true\n    imagesFile: images.txt\n"
                           "    skip: [jenkins]\n    images:\n    - quay.io/a/c:v1\n    - name: quay.io/a/d:v1\n").samples
    assert mapped is not None and mapped.from_release and mapped.skip == ["jenkins"] and mapped.streams == []
    assert mapped.images_file == tmp_path / "images.txt" and len(mapped.images) == 2
    with pytest.raises(ConfigLoadError, match=r"mirror\.samples\[0\]\.tag: is not a field"):
        isc(tmp_path, "mirror:\n  samples:\n  - name: ruby\n    tag: latest\n")


def test_helm_every_field(tmp_path: Path) -> None:
    cfg = isc(tmp_path, """mirror:
  helm:
    repositories:
    - name: podinfo
      url: https://stefanprodan.github.io/podinfo
      charts:
      - name: podinfo
        version: 6.7.0
        imagePaths: ["{.spec.template.spec.custom[*].image}"]
        platforms: [{os: linux, architecture: amd64}]
    - name: all
      url: https://charts.example.com/all
    local:
    - name: my-chart
      path: charts/my-chart-0.1.0.tgz
""")
    repo, every = cfg.helm.repositories
    assert repo.charts is not None and repo.charts[0].version == "6.7.0"
    assert repo.charts[0].image_paths == ["{.spec.template.spec.custom[*].image}"]
    assert every.charts is None  # every chart of the index, as oc-mirror does
    assert cfg.helm.local[0].path is not None and cfg.helm.local[0].path.name == "my-chart-0.1.0.tgz"
    assert repo.charts[0].platforms and not warned(cfg, "mirror.helm.repositories[0].charts[0].platforms", "")
    assert not any(": mirror.helm: " in w for w in cfg.warnings)  # carried now (issue 13)
    with pytest.raises(ConfigLoadError, match=r"mirror\.helm\.repos: is not a field"):
        isc(tmp_path, "mirror:\n  helm:\n    repos: []\n")
    with pytest.raises(ConfigLoadError, match=r"url: 'ftp://x' is not a chart repository URL"):
        isc(tmp_path, "mirror:\n  helm:\n    repositories: [{name: a, url: 'ftp://x'}]\n")
    with pytest.raises(ConfigLoadError, match=r"local\[0\]\.path: is required"):
        isc(tmp_path, "mirror:\n  helm:\n    local: [{name: a}]\n")
    with pytest.raises(ConfigLoadError, match=r"charts: is required for an oci:// chart repository"):
        isc(tmp_path, "mirror:\n  helm:\n    repositories: [{name: a, url: 'oci://ghcr.io/charts'}]\n")


# -- top level -------------------------------------------------------------------------------------

def test_archive_size_in_gib(tmp_path: Path) -> None:
    cfg = isc(tmp_path, "archiveSize: 4\nmirror:\n  additionalImages: [{name: quay.io/a/b:v1}]\n")
    assert cfg.archive_size_gib == 4 and cfg.archive_size == 4 * 1024 ** 3
    assert not warned(cfg, "archiveSize", "")  # the split size unless --split-size (tests/test_habits_configs.py)
    assert isc(tmp_path, "archiveSize: 0\nmirror:\n  additionalImages: [{name: quay.io/a/b:v1}]\n").archive_size is None
    for bad in ("4.5", "-1", "'4G'"):
        with pytest.raises(ConfigLoadError, match=r"isc\.yaml line 3: archiveSize: must be a"):
            isc(tmp_path, f"archiveSize: {bad}\nmirror:\n  additionalImages: [{{name: quay.io/a/b:v1}}]\n")


def test_storage_config_is_warned_with_what_to_do(tmp_path: Path) -> None:
    cfg = isc(tmp_path, "storageConfig:\n  registry:\n    imageURL: reg.example.com/meta:latest\n    skipTLS: true\n"
                        "mirror:\n  additionalImages: [{name: quay.io/a/b:v1}]\n", api=V1)
    assert cfg.storage_config == config.StorageConfig(registry_image="reg.example.com/meta:latest", skip_tls=True)
    assert warned(cfg, "storageConfig", "remove storageConfig")
    local = isc(tmp_path, "storageConfig:\n  local: {path: /tmp/meta}\nmirror:\n  additionalImages: [{name: quay.io/a/b:v1}]\n")
    assert local.storage_config is not None and local.storage_config.local_path == "/tmp/meta"
    with pytest.raises(ConfigLoadError, match=r"storageConfig\.s3: is not a field"):
        isc(tmp_path, "storageConfig: {s3: {}}\nmirror:\n  additionalImages: [{name: quay.io/a/b:v1}]\n")


def test_case_insensitive_field_names_as_go(tmp_path: Path) -> None:
    cfg = isc(tmp_path, "mirror:\n  additionalimages: [{name: quay.io/a/b:v1}]\n  BlockedImages: [{name: x}]\n")
    assert len(cfg.additional_images) == 1 and len(cfg.blocked_images) == 1
    assert warned(cfg, "mirror.additionalimages", "is spelled additionalImages")


@pytest.mark.parametrize(("text", "message"), [
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  foo: 1\n",
     "line 4: mirror.foo: is not a field"),
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmetadata: {name: x}\nmirror: {}\n",
     "line 3: metadata: is not a field"),
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\n", "mirror: is missing"),
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n", "mirror: is empty"),
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror: [a]\n", "mirror: must be a mapping"),
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror: {additionalImages: []}\n"
     "delete: {}\n", "line 4: delete: is not allowed in an ImageSetConfiguration"),
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v1alpha1\nmirror: {}\n",
     "line 2: apiVersion: must be one of"),
    ("kind: ImageSetConfiguration\nmirror: {}\n", "apiVersion: must be one of"),
    ("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  operators: []\n"
     "  operators: []\n", "line 5: mirror.operators: is given twice"),
    ("kind: ImageSetConfiguration\n---\nkind: ImageSetConfiguration\n", "holds 2 YAML documents (at lines 1, 3)"),
    ("", "is empty"),
    ("- a\n", "expected a YAML mapping"),
])
def test_document_bad_input(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "isc.yaml"
    p.write_text(text)
    with pytest.raises(ConfigLoadError) as e:
        config.load(p)
    assert message in e.value.message


def test_delete_config_where_an_imageset_is_expected_and_the_reverse(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text("kind: DeleteImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\ndelete: {}\n")
    with pytest.raises(ConfigLoadError) as e:
        config.load(p)
    assert "x.yaml line 1: kind: this is a DeleteImageSetConfiguration" in e.value.message
    assert "bundler delete -c" in str(e.value.hint)
    p.write_text("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror: {}\n")
    with pytest.raises(ConfigLoadError) as e:
        config.load_delete(p)
    assert "x.yaml line 1: kind: this is an ImageSetConfiguration" in e.value.message


def test_warnings_survive_a_failed_load(tmp_path: Path) -> None:
    p = tmp_path / "isc.yaml"
    p.write_text("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n"
                 "  Platform:\n    platforms: [{os: linux, architecture: amd64}]\n")
    with pytest.raises(ConfigLoadError) as e:
        config.load(p)
    assert "names nothing bundler can carry yet" in e.value.message
    assert any("mirror.Platform: is spelled platform" in w for w in e.value.warnings)
    p.write_text("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n"
                 "  additionalimages: [{name: quay.io/a/b}]\n")
    with pytest.raises(ConfigLoadError) as e:
        config.load(p)
    assert e.value.warnings and "is spelled additionalImages" in e.value.warnings[0]


# -- DeleteImageSetConfiguration -------------------------------------------------------------------

def test_delete_every_field(tmp_path: Path) -> None:
    cfg = disc(tmp_path, f"""delete:
  platform:
    channels: [{{name: stable-4.15, minVersion: 4.15.20, maxVersion: 4.15.20}}]
    architectures: [amd64]
    graph: true
    release: quay.io/openshift-release-dev/ocp-release:4.15.20-x86_64
  operators:
  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.15
    targetCatalog: lab/index
    targetTag: v4.15
    packages: [{{name: aws-load-balancer-operator, channels: [{{name: stable-v1, minVersion: 1.1.0}}]}}]
  additionalImages:
  - name: registry.redhat.io/ubi8/ubi-minimal@sha256:{"f" * 64}
  helm:
    repositories: [{{name: podinfo, url: "https://stefanprodan.github.io/podinfo", charts: [{{name: podinfo}}]}}]
  samples:
  - name: ruby
""")
    assert cfg.platform.release is not None and cfg.platform.graph and cfg.platform.architectures == ["amd64"]
    assert cfg.operators[0].target_catalog == "lab/index" and cfg.operators[0].packages[0].name == "aws-load-balancer-operator"
    assert [a.digest for a in cfg.additional_images] == ["sha256:" + "f" * 64]
    assert cfg.helm.repositories[0].charts is not None and cfg.samples is not None
    assert warned(cfg, "delete.samples", "ignores samples")
    assert not any("not resolved yet" in w for w in cfg.warnings)  # export's pending notes are not delete's


@pytest.mark.parametrize(("body", "message"), [
    ("delete:\n  blockedImages: [{name: x}]\n", "line 4: delete.blockedImages: is not a field"),
    ("mirror: {}\n", "line 3: mirror: is not allowed in a DeleteImageSetConfiguration"),
    ("archiveSize: 4\ndelete: {additionalImages: [{name: quay.io/a/b:v1}]}\n", "line 3: archiveSize: is not a field"),
    ("delete: {}\n", "delete: is empty"),
    ("\n", "delete: is missing"),
])
def test_delete_bad_input(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigLoadError) as e:
        disc(tmp_path, body)
    assert message in e.value.message

