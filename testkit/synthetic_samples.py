"""A synthetic upstream for the samples feature: one OpenShift release per era whose
``cluster-samples-operator`` image carries sample image streams, and the sample images themselves.

* era ``4.14`` (4.6 and later): streams under ``/opt/openshift/operator/x86_64/``;
* era ``4.4``  (4.5 and earlier): streams under ``/opt/openshift/operator/ocp-x86_64/``.

Each operator image also carries decoy directories (another architecture, the other era's layout,
OKD) whose images must never be selected, an ``ImageStreamTag`` alias, a stream (``missing``) whose
image was never pushed, and a ``jenkins`` stream to skip. Sample images include a Docker manifest
list and an OCI index with two platforms each, plain Docker and OCI images, and two tags sharing
one digest. The release image has a real ``release-manifests/image-references`` (and
``release-metadata``) listing ``cluster-samples-operator`` by digest.

Everything is pushed with the synthetic generator (:mod:`testkit.synthetic`) to one registry (a
:class:`testkit.registry.RegistryServer` in the tests): the sample images keep the
``namespace/name`` shape the samples operator expects of ``registry.redhat.io`` images.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bundler.oci import Manifest
from bundler.registry.client import RegistryClient

from .synthetic import build_layer, push_image, push_multiarch, push_release_image
from .writer import as_writer

RELEASE_REPO = "openshift-release-dev/ocp-release"
COMPONENT_REPO = "openshift-release-dev/ocp-v4.0-art-dev"
MISSING = "rhscl/doesnotexist-rhel7:latest"


# -- the samples world ----------------------------------------------------------------------

def imagestream(name: str, tags: list[tuple[str, str, str]], api: str = "image.openshift.io/v1") -> bytes:
    """An ImageStream JSON: tags are (tag name, from kind, from name)."""
    return json.dumps({
        "kind": "ImageStream", "apiVersion": api,
        "metadata": {"name": name, "annotations": {"openshift.io/display-name": name}},
        "spec": {"tags": [{"name": t, "annotations": {"tags": "builder"}, "from": {"kind": k, "name": n},
                           "referencePolicy": {"type": "Local"}} for t, k, n in tags]},
    }, indent=2).encode()


@dataclass
class SampleImage:
    path: str            # namespace/name:tag under the registry
    kind: str            # docker | oci | docker-list | oci-index


# namespace/name:tag -> what to push; two tags of python share one digest
SAMPLE_IMAGES = [
    SampleImage("ubi8/httpd-24:latest", "docker-list"),
    SampleImage("ubi8/nodejs-16:1", "oci-index"),
    SampleImage("rhscl/ruby-25-rhel7:latest", "docker"),
    SampleImage("rhscl/postgresql-10-rhel7:1", "oci"),
    SampleImage("ubi8/python-39:latest", "docker"),
    SampleImage("ubi8/python-39:1", "docker"),            # same digest as :latest
    SampleImage("rhscl/perl-526-rhel7:latest", "docker"),
    SampleImage("openshift4/ose-jenkins:v4.4", "docker"),
    SampleImage("openshift4/ose-jenkins:v4.14", "docker"),
    SampleImage("ubi8/decoy-s390x:latest", "docker"),     # only in the s390x directory
    SampleImage("centos/decoy-okd:latest", "docker"),      # only in the okd directory
    SampleImage("ubi8/decoy-other-era:latest", "docker"),  # only in the other layout's directory
]


def era_streams(era: str, host: str) -> dict[str, list[tuple[str, str, str]]]:
    """Image streams (name -> tags) of one era's operator, for x86_64."""
    r = f"{host}/"
    streams = {
        "httpd": [("2.4", "DockerImage", r + "ubi8/httpd-24:latest"), ("latest", "ImageStreamTag", "2.4")],
        "ruby": [("2.5", "DockerImage", r + "rhscl/ruby-25-rhel7:latest"), ("latest", "ImageStreamTag", "2.5")],
        "postgresql": [("10", "DockerImage", r + "rhscl/postgresql-10-rhel7:1")],
        "python": [("3.9", "DockerImage", r + "ubi8/python-39:latest"), ("3.9-ubi8", "DockerImage", r + "ubi8/python-39:1"),
                   ("latest", "ImageStreamTag", "3.9")],
        "missing": [("1", "DockerImage", r + MISSING), ("2", "DockerImage", r + "ubi8/python-39:latest")],
    }
    if era == "4.14":
        streams["nodejs"] = [("16", "DockerImage", r + "ubi8/nodejs-16:1"), ("latest", "ImageStreamTag", "16")]
        # the same image as python's, under another stream: deduplicated
        streams["python-alt"] = [("3.9", "DockerImage", r + "ubi8/python-39:latest")]
        streams["jenkins"] = [("2", "DockerImage", r + "openshift4/ose-jenkins:v4.14")]
    else:
        streams["perl"] = [("5.26", "DockerImage", r + "rhscl/perl-526-rhel7:latest")]
        streams["jenkins"] = [("2", "DockerImage", r + "openshift4/ose-jenkins:v4.4")]
    return streams


@dataclass
class SamplesRelease:
    era: str
    version: str
    release: str                      # host/repo:tag of the release image
    operator: str                     # the samples operator by digest
    directory: str                    # where its x86_64 streams live
    streams: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def images(self, skip: tuple[str, ...] = ()) -> set[str]:
        """Every DockerImage pull spec of the streams not skipped (missing image included)."""
        return {n for name, tags in self.streams.items() if name not in skip for _, k, n in tags if k == "DockerImage"}


@dataclass
class SamplesUpstream:
    registry: str
    releases: dict[str, SamplesRelease]
    digests: dict[str, str]           # sample pull spec -> digest
    media_types: dict[str, str]

    @property
    def missing(self) -> str:
        return f"{self.registry}/{MISSING}"


def _operator_files(era: str, host: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Two layers: the operator binary, then the assets (with decoys in the other directories)."""
    new, old = "opt/openshift/operator/x86_64", "opt/openshift/operator/ocp-x86_64"
    root, other = (new, old) if era == "4.14" else (old, new)
    assets: dict[str, bytes] = {}
    for name, tags in era_streams(era, host).items():
        group = "rhel" if name not in ("jenkins",) else "jenkins"
        assets[f"{root}/{group}/imagestreams/{name}-rhel.json"] = imagestream(
            name, tags, "v1" if era == "4.4" else "image.openshift.io/v1")
    assets[f"{root}/rhel/templates/httpd-example.json"] = json.dumps(
        {"kind": "Template", "apiVersion": "template.openshift.io/v1", "metadata": {"name": "httpd-example"},
         "objects": [{"kind": "ImageStream", "spec": {"tags": [{"from": {"kind": "DockerImage",
                                                                           "name": f"{host}/ubi8/decoy-other-era:latest"}}]}}]}
    ).encode()
    if era == "4.14":   # a stale <=4.5 directory beside the 4.6+ one: the 4.6+ one wins
        assets[f"{other}/rhel/imagestreams/decoy.json"] = imagestream(
            "decoy", [("1", "DockerImage", f"{host}/ubi8/decoy-other-era:latest")])
    assets["opt/openshift/operator/s390x/rhel/imagestreams/decoy.json"] = imagestream(
        "decoy", [("1", "DockerImage", f"{host}/ubi8/decoy-s390x:latest")])
    assets["opt/openshift/operator/okd-x86_64/centos/imagestreams/decoy.json"] = imagestream(
        "decoy", [("1", "DockerImage", f"{host}/centos/decoy-okd:latest")])
    return {"usr/bin/cluster-samples-operator": b"#!/bin/sh\necho samples\n"}, assets


def build_samples_upstream(client: RegistryClient, eras: tuple[str, ...] = ("4.14", "4.4")) -> SamplesUpstream:
    """Push the sample images and one release per era; return what was pushed."""
    host = client.registry
    digests: dict[str, str] = {}
    media: dict[str, str] = {}
    for img in SAMPLE_IMAGES:
        repo, tag = img.path.rsplit(":", 1)
        content = f"sample {img.path}\n".encode()
        m: Manifest
        if img.path == "ubi8/python-39:1":      # a second tag on the same manifest
            m = as_writer(client).get_manifest(repo, "latest")
            client.put_manifest(repo, tag, m)
        elif img.kind in ("docker-list", "oci-index"):
            arches = ("amd64", "arm64") if img.kind == "docker-list" else ("amd64", "s390x")
            m, _ = push_multiarch(client, repo, tag, {a: {f"usr/share/{repo}/{a}": content + a.encode()} for a in arches},
                                  oci=img.kind == "oci-index")
        else:
            m = push_image(client, repo, tag, {f"usr/share/{repo}/README": content}, oci=img.kind == "oci")
        digests[f"{host}/{img.path}"] = m.digest
        media[f"{host}/{img.path}"] = m.media_type
    releases: dict[str, SamplesRelease] = {}
    for era in eras:
        version = {"4.14": "4.14.1", "4.4": "4.4.5"}[era]
        binary, assets = _operator_files(era, host)
        op = push_image(client, COMPONENT_REPO, None, assets,
                        layers=[build_layer(binary, "COPY cluster-samples-operator /usr/bin/")])
        cli = push_image(client, COMPONENT_REPO, None, {"usr/bin/oc": f"oc {version}\n".encode()})
        tag = f"{version}-x86_64"
        push_release_image(client, RELEASE_REPO, tag, version, {
            "cli": f"{host}/{COMPONENT_REPO}@{cli.digest}",
            "cluster-samples-operator": f"{host}/{COMPONENT_REPO}@{op.digest}",
        })
        releases[era] = SamplesRelease(
            era=era, version=version, release=f"{host}/{RELEASE_REPO}:{tag}",
            operator=f"{host}/{COMPONENT_REPO}@{op.digest}",
            directory="/opt/openshift/operator/" + ("x86_64" if era == "4.14" else "ocp-x86_64"),
            streams=era_streams(era, host),
        )
    return SamplesUpstream(registry=host, releases=releases, digests=digests, media_types=media)
