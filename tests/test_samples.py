"""Samples: image streams of the release's cluster-samples-operator, pinned, carried, found by tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundler.content import samples
from bundler.errors import ConfigError


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
