"""Samples: image streams of the release's cluster-samples-operator, pinned, carried, found by tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bundler import config as bconfig
from bundler.auth import AuthStore
from bundler.cli import app
from bundler.content import release as release_planner
from bundler.content import samples
from bundler.errors import ConfigError
from bundler.oci import parse
from bundler.plan import Plan, PlanContext
from bundler.registry.client import RegistryPool
from bundler.transport.registry import RegistrySource
from testkit.certs import CA
from testkit.registry import RegistryServer, write_authfile
from testkit.synthetic_samples import SamplesUpstream, build_samples_upstream


def _stream(name: str, tags: list[tuple[str, str, str]]) -> bytes:
    return json.dumps({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": {"name": name},
        "spec": {"tags": [{"name": t, "from": {"kind": k, "name": n}} for t, k, n in tags]},
    }).encode()


def test_parse_streams_takes_docker_images_and_skips_aliases() -> None:
    root = "opt/openshift/operator/x86_64"
    files = {
        f"{root}/httpd/imagestreams/httpd-rhel.json": _stream("httpd", [
            ("2.4", "DockerImage", "registry.redhat.io/ubi8/httpd-24:latest"),
            ("2.4-el8", "DockerImage", "registry.redhat.io/ubi8/httpd-24:latest"),
            ("latest", "ImageStreamTag", "2.4"),
        ]),
        f"{root}/httpd/templates/httpd.json": b'{"kind": "Template"}',
        "opt/openshift/operator/ocp-x86_64/old/imagestreams/old.json": _stream("old", [("1", "DockerImage", "a.io/b/c:1")]),
    }
    streams = samples.parse_streams(files, root)
    assert list(streams) == ["httpd"]
    assert streams["httpd"].images == ["registry.redhat.io/ubi8/httpd-24:latest"]
    assert streams["httpd"].aliases == ["latest"]
    assert samples.choose_root(sorted(files), "x86_64") == root
    assert samples.choose_root(["opt/openshift/operator/ocp-x86_64/a/imagestreams/a.json"], "x86_64") == \
        "opt/openshift/operator/ocp-x86_64"
    assert samples.choose_root(["opt/openshift/operator/s390x/a/imagestreams/a.json"], "x86_64") is None


def test_stream_list_and_yaml() -> None:
    doc = {"kind": "List", "items": [json.loads(_stream("a", [("1", "DockerImage", "x.io/a/a:1")])),
                                     {"kind": "Template"}]}
    assert [s["metadata"]["name"] for s in samples.stream_docs(doc)] == ["a"]


def test_images_file(tmp_path: Path) -> None:
    f = tmp_path / "sample-images.txt"
    f.write_text("# the seed's list\nregistry.redhat.io/rhscl/httpd-24-rhel7:latest\n\n"
                 "registry.redhat.io/ubi8/nodejs-12  # trailing comment\n")
    refs = samples.read_images_file(f)
    assert [str(r) for r in refs] == ["registry.redhat.io/rhscl/httpd-24-rhel7:latest",
                                      "registry.redhat.io/ubi8/nodejs-12:latest"]
    f.write_text("ok.io/a/b:1\nnot a ref\n")
    with pytest.raises(ConfigError, match="line 2"):
        samples.read_images_file(f)
    with pytest.raises(ConfigError, match="does not exist"):
        samples.read_images_file(tmp_path / "missing.txt")


@pytest.mark.parametrize(("pullspec", "registry", "stream", "want"), [
    ("registry.redhat.io/ubi8/httpd-24:latest", "mirror:5000", "httpd", "mirror:5000/ubi8/httpd-24:latest"),
    ("registry.redhat.io/ubi8/httpd-24:latest", "mirror:5000/samples", "httpd",
     "mirror:5000/samples/ubi8/httpd-24:latest"),
    ("127.0.0.1:5000/rhscl/ruby-25:2.5", "m.example/p", "ruby", "m.example/p/rhscl/ruby-25:2.5"),
    ("registry.redhat.io/a/b/c:1", "m", "x", "m/registry.redhat.io/a/b/c:1"),
    ("quay.io/openshift/jenkins:2", "m", "jenkins", "quay.io/openshift/jenkins:2"),
])
def test_operator_pullspec(pullspec: str, registry: str, stream: str, want: str) -> None:
    assert samples.operator_pullspec(pullspec, registry, stream) == want


def test_samples_registry() -> None:
    assert samples.samples_registry("mirror.example:8443/ocp/samples/") == "mirror.example:8443/ocp/samples"
    assert samples.samples_registry("https://mirror.example") == "mirror.example"


# -- against real registries ------------------------------------------------------------------




class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ca = CA.create()
        self.upstream = RegistryServer(ca=self.ca, auth="basic").start()
        self.mirror = RegistryServer(ca=self.ca, auth="token").start()
        self.ca_file = tmp / "ca.pem"
        self.ca_file.write_bytes(self.ca.pem)
        self.authfile = write_authfile(tmp / "auth.json", {
            self.upstream.host: (self.upstream.username, self.upstream.password),
            self.mirror.host: (self.mirror.username, self.mirror.password),
        })
        self.up: SamplesUpstream = build_samples_upstream(self.upstream.client())

    def close(self) -> None:
        self.upstream.close()
        self.mirror.close()

    def imageset(self, name: str, release: str, **samples: object) -> Path:
        doc = {"apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration",
               "mirror": {"platform": {"release": release}, "samples": samples}}
        path = self.tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc))
        return path

    def plan(self, cfg_path: Path) -> Plan:
        cfg = bconfig.load(cfg_path)
        source = RegistrySource(RegistryPool(AuthStore.load(self.authfile), self.ca_file))
        ctx = PlanContext(config=cfg, source=source, plan=Plan())
        release_planner.plan(ctx)
        samples.plan(ctx)
        return ctx.plan


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = World(tmp_path_factory.mktemp("samples"))
    yield w  # type: ignore[misc]
    w.close()


def _sample_refs(p: Plan) -> set[str]:
    return {f"{i.source.name}:{t}" for i in p.images if i.kind == "sample" for t in i.tags}


@pytest.mark.parametrize("era", ["4.14", "4.4"])
def test_planner_selects_exactly_the_streams_images(world: World, era: str) -> None:
    rel = world.up.releases[era]
    p = world.plan(world.imageset(f"plan-{era}", rel.release, fromRelease=True))
    expected = rel.images() - {world.up.missing}
    assert _sample_refs(p) == expected
    # decoys of the other layout, other architectures and OKD are never read
    assert not any("decoy" in r for r in _sample_refs(p))
    # pinned to the upstream digests, tags kept; lists and indexes carried whole
    for img in p.images:
        if img.kind == "sample":
            for t in img.tags:
                assert world.up.digests[f"{img.source.name}:{t}"] == img.digest
    rec = p.records["samples"]
    assert rec["operators"][0]["directory"] == rel.directory
    assert rec["operators"][0]["layout"] == ("4.6+" if era == "4.14" else "4.5-")
    # the ImageStreamTag alias is recorded as an alias, not an image
    assert rec["streams"]["httpd"]["aliases"] == ["latest"]
    assert rec["streams"]["httpd"]["images"] == [f"{world.up.registry}/ubi8/httpd-24:latest"]
    # the stream whose image does not exist: left out, failure reported, name in skippedImagestreams
    assert rec["skippedImagestreams"] == ["missing"]
    assert "missing" not in rec["streams"]
    assert list(p.failed) == [world.up.missing]
    assert "missing" in p.failed[world.up.missing]
    # python-39:latest and :1 share one digest: one image, both tags
    py = [i for i in p.images if i.source.repository == "ubi8/python-39"]
    assert len(py) == 1 and sorted(py[0].tags) == ["1", "latest"]


def test_planner_skip_images_and_images_file(world: World) -> None:
    rel = world.up.releases["4.14"]
    listfile = world.tmp / "sample-images.txt"
    listfile.write_text(f"# extra samples\n{world.up.registry}/rhscl/perl-526-rhel7:latest\n\n")
    p = world.plan(world.imageset("skip", rel.release, fromRelease=True, skip=["jenkins", "nodejs"],
                                  images=[f"{world.up.registry}/ubi8/decoy-okd:latest".replace("ubi8", "centos")],
                                  imagesFile=str(listfile)))
    expected = (rel.images(skip=("jenkins", "nodejs")) - {world.up.missing}) | {
        f"{world.up.registry}/rhscl/perl-526-rhel7:latest", f"{world.up.registry}/centos/decoy-okd:latest"}
    assert _sample_refs(p) == expected
    rec = p.records["samples"]
    assert rec["skippedImagestreams"] == ["jenkins", "missing", "nodejs"]
    assert rec["skippedByConfig"] == ["jenkins", "nodejs"]


def test_images_only_without_release(world: World) -> None:
    ref = f"{world.up.registry}/ubi8/nodejs-16:1"
    path = world.tmp / "only.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "mirror.openshift.io/v2alpha1", "kind": "ImageSetConfiguration",
                                    "mirror": {"samples": {"images": [ref, f"{world.up.registry}/{'rhscl/nope'}:1"]}}}))
    p = world.plan(path)
    assert _sample_refs(p) == {ref}
    assert list(p.failed) == [f"{world.up.registry}/rhscl/nope:1"]
    assert p.records["samples"]["skippedImagestreams"] == []


@pytest.mark.parametrize("era", ["4.14", "4.4"])
def test_export_import_every_sample_resolves_by_tag_where_the_operator_looks(world: World, era: str) -> None:
    rel = world.up.releases[era]
    runner = CliRunner()
    cfg = world.imageset(f"e2e-{era}", rel.release, fromRelease=True, skip=["jenkins"])
    bundle = world.tmp / f"samples-{era}.tar.zst"
    res = runner.invoke(app, ["export", "-c", str(cfg), "-o", str(bundle), "--authfile", str(world.authfile),
                              "--ca-file", str(world.ca_file)])
    # the missing stream's image fails: reported, the rest exported, exit status non-zero
    assert res.exit_code != 0, res.output
    assert world.up.missing in res.output and "missing" in res.output
    assert bundle.exists()
    target = f"{world.mirror.host}/mirror-{era.replace('.', '')}"
    out = world.tmp / f"out-{era}"
    res = runner.invoke(app, ["import", str(bundle), "--registry", target, "-o", str(out),
                              "--authfile", str(world.authfile), "--ca-file", str(world.ca_file)])
    assert res.exit_code == 0, res.output

    patch_text = (out / "samples-registry.yaml").read_text()
    assert "oc patch configs.samples.operator.openshift.io cluster --type merge" in patch_text
    assert "WARNING" not in patch_text
    patch = yaml.safe_load(patch_text)
    assert patch["spec"]["samplesRegistry"] == target
    assert patch["spec"]["skippedImagestreams"] == ["jenkins", "missing"]

    client = world.mirror.client()
    expected = rel.images(skip=("jenkins",)) - {world.up.missing}
    assert expected
    for pull in sorted(expected):
        at = parse(samples.operator_pullspec(pull, patch["spec"]["samplesRegistry"]))
        assert at.registry == world.mirror.host
        m = client.get_manifest(at.repository, at.tag)          # by tag, where the operator looks
        assert m.digest == world.up.digests[pull], pull          # digest unchanged
        assert client.get_manifest(at.repository, m.digest).digest == m.digest
        if m.is_list:   # every platform of a list / index came along
            for child in m.doc["manifests"]:
                assert client.get_manifest(at.repository, child["digest"]).digest == child["digest"]
    # nothing the operator would not use was mirrored as a sample
    report = json.loads((out / "report.json").read_text())
    mirrored = {f"{parse(i['source']).name}:{t}" for i in report["images"] if i["kind"] == "sample" for t in i["tags"]}
    assert mirrored == expected
    # the tag mirror set covers every sample repository
    itms = yaml.safe_load((out / "imageTagMirrorSet.yaml").read_text())
    sources = {r["source"]: r["mirrors"] for r in itms["spec"]["imageTagMirrors"]}
    for pull in expected:
        ref = parse(pull)
        assert sources[ref.name] == [f"{target}/{ref.repository}"]


def test_render_outputs_warns_when_the_operator_would_look_elsewhere(tmp_path: Path) -> None:
    from bundler.outputs import MirroredImage, OutputContext

    ok = parse("registry.redhat.io/ubi8/httpd-24:latest")
    deep = parse("registry.redhat.io/a/b/c:1")
    images = [
        MirroredImage("sample", ok, "sha256:" + "1" * 64, "mirror:5000/p/ubi8/httpd-24", tags=["latest"]),
        MirroredImage("sample", deep, "sha256:" + "2" * 64, "mirror:5000/p/a/b/c", tags=["1"]),
    ]
    meta = {"extra": {"samples": {"images": [{"source": str(ok), "imagestreams": ["httpd"]},
                                             {"source": str(deep), "imagestreams": ["deep"]}],
                                  "skippedImagestreams": ["jenkins"], "skippedByConfig": ["jenkins"]}}}
    octx = OutputContext(outdir=tmp_path, registry="mirror:5000/p", images=images, records=meta["extra"])
    samples.render_outputs(octx)
    text = (tmp_path / samples.render.OUTPUT_FILE).read_text()
    assert "WARNING" in text and "mirror:5000/p/registry.redhat.io/a/b/c:1" in text
    assert "ubi8/httpd-24" not in text.split("WARNING", 1)[1]
    assert yaml.safe_load(text) == {"spec": {"managementState": "Managed", "samplesRegistry": "mirror:5000/p",
                                             "skippedImagestreams": ["jenkins"]}}


def test_render_outputs_nothing_without_samples(tmp_path: Path) -> None:
    from bundler.outputs import OutputContext

    octx = OutputContext(outdir=tmp_path, registry="mirror:5000", images=[], records={})
    samples.render_outputs(octx)
    assert not (tmp_path / samples.render.OUTPUT_FILE).exists()
