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

Everything is pushed with :class:`bundler.registry.client.RegistryClient` to one registry (a
:class:`bundler.testing.registry.RegistryServer` in the tests): the sample images keep the
``namespace/name`` shape the samples operator expects of ``registry.redhat.io`` images.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

from . import mediatypes
from .registry.client import Manifest, RegistryClient, sha256_digest

RELEASE_REPO = "openshift-release-dev/ocp-release"
COMPONENT_REPO = "openshift-release-dev/ocp-v4.0-art-dev"
MISSING = "rhscl/doesnotexist-rhel7:latest"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


# -- minimal image building ------------------------------------------------------------------

def make_layer(files: dict[str, bytes]) -> bytes:
    """A gzip tar layer with ``files`` (path -> bytes), directories created, reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for path in sorted(files):
            parts = path.strip("/").split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(path.strip("/"))
            info.size = len(files[path])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[path]))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _push_blob(client: RegistryClient, repo: str, data: bytes) -> dict[str, Any]:
    digest = sha256_digest(data)
    if not client.has_blob(repo, digest):
        client.push_blob(repo, digest, len(data), lambda: io.BytesIO(data))
    return {"digest": digest, "size": len(data)}


def _put(client: RegistryClient, repo: str, ref: str | None, doc: dict[str, Any], media_type: str) -> Manifest:
    data = json.dumps(doc, indent=2, sort_keys=True).encode()
    m = Manifest(data, media_type, sha256_digest(data))
    client.put_manifest(repo, ref or m.digest, m)
    return m


def push_image(client: RegistryClient, repo: str, tag: str | None, layers: list[dict[str, bytes]],
               arch: str = "amd64", oci: bool = False, labels: dict[str, str] | None = None) -> Manifest:
    """Push a single-platform image made of ``layers`` (each path -> bytes); tag it if ``tag``."""
    blobs = [make_layer(files) for files in layers]
    config = {
        "architecture": arch, "os": "linux",
        "config": {"Labels": labels or {}},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(gzip.decompress(b)).hexdigest() for b in blobs]},
    }
    cfg_desc = _push_blob(client, repo, json.dumps(config, sort_keys=True).encode())
    layer_descs = [_push_blob(client, repo, b) for b in blobs]
    media = mediatypes.OCI_MANIFEST if oci else mediatypes.DOCKER_MANIFEST
    doc = {
        "schemaVersion": 2, "mediaType": media,
        "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG, **cfg_desc},
        "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER, **d} for d in layer_descs],
    }
    return _put(client, repo, tag, doc, media)


def push_list(client: RegistryClient, repo: str, tag: str, children: list[tuple[Manifest, str]],
              oci: bool = False) -> Manifest:
    """Push a manifest list (Docker) or index (OCI) of ``(child manifest, architecture)``."""
    media = mediatypes.OCI_INDEX if oci else mediatypes.DOCKER_LIST
    doc = {
        "schemaVersion": 2, "mediaType": media,
        "manifests": [{"mediaType": m.media_type, "digest": m.digest, "size": len(m.data),
                       "platform": {"architecture": arch, "os": "linux"}} for m, arch in children],
    }
    return _put(client, repo, tag, doc, media)


def push_multiarch(client: RegistryClient, repo: str, tag: str, content: bytes, oci: bool) -> Manifest:
    kids = []
    for arch in ("amd64", "arm64") if not oci else ("amd64", "s390x"):
        kids.append((push_image(client, repo, None, [{f"usr/share/{repo}/{arch}": content + arch.encode()}],
                                arch=arch, oci=oci), arch))
    return push_list(client, repo, tag, kids, oci=oci)


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


def _operator_layers(era: str, host: str) -> list[dict[str, bytes]]:
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
    return [{"usr/bin/cluster-samples-operator": b"#!/bin/sh\necho samples\n"}, assets]


def build_samples_upstream(client: RegistryClient, eras: tuple[str, ...] = ("4.14", "4.4")) -> SamplesUpstream:
    """Push the sample images and one release per era; return what was pushed."""
    host = client.registry
    digests: dict[str, str] = {}
    media: dict[str, str] = {}
    for img in SAMPLE_IMAGES:
        repo, tag = img.path.rsplit(":", 1)
        content = f"sample {img.path}\n".encode()
        if img.path == "ubi8/python-39:1":      # a second tag on the same manifest
            m = client.get_manifest(repo, "latest")
            client.put_manifest(repo, tag, m)
        elif img.kind == "docker-list":
            m = push_multiarch(client, repo, tag, content, oci=False)
        elif img.kind == "oci-index":
            m = push_multiarch(client, repo, tag, content, oci=True)
        else:
            m = push_image(client, repo, tag, [{f"usr/share/{repo}/README": content}], oci=img.kind == "oci")
        digests[f"{host}/{img.path}"] = m.digest
        media[f"{host}/{img.path}"] = m.media_type
    releases: dict[str, SamplesRelease] = {}
    for era in eras:
        version = {"4.14": "4.14.1", "4.4": "4.4.5"}[era]
        op = push_image(client, COMPONENT_REPO, None, _operator_layers(era, host))
        cli = push_image(client, COMPONENT_REPO, None, [{"usr/bin/oc": f"oc {version}\n".encode()}])
        refs = {
            "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
            "metadata": {"name": version, "annotations": {"release.openshift.io/from-image-stream": f"ocp/{era}-art"}},
            "spec": {"lookupPolicy": {"local": False}, "tags": [
                {"name": "cli", "from": {"kind": "DockerImage", "name": f"{host}/{COMPONENT_REPO}@{cli.digest}"},
                 "annotations": {}, "generation": None, "importPolicy": {}, "referencePolicy": {"type": ""}},
                {"name": "cluster-samples-operator",
                 "from": {"kind": "DockerImage", "name": f"{host}/{COMPONENT_REPO}@{op.digest}"},
                 "annotations": {"io.openshift.build.source-location": "https://github.com/openshift/cluster-samples-operator"},
                 "generation": None, "importPolicy": {}, "referencePolicy": {"type": ""}},
            ]},
        }
        meta = {"kind": "cincinnati-metadata-v0", "version": version, "previous": [], "metadata": {}}
        tag = f"{version}-x86_64"
        push_image(client, RELEASE_REPO, tag, [
            {"usr/bin/cluster-version-operator": b"cvo\n"},
            {"release-manifests/image-references": json.dumps(refs, indent=2).encode(),
             "release-manifests/release-metadata": json.dumps(meta).encode()},
        ], labels={"io.openshift.release": version})
        releases[era] = SamplesRelease(
            era=era, version=version, release=f"{host}/{RELEASE_REPO}:{tag}",
            operator=f"{host}/{COMPONENT_REPO}@{op.digest}",
            directory="/opt/openshift/operator/" + ("x86_64" if era == "4.14" else "ocp-x86_64"),
            streams=era_streams(era, host),
        )
    return SamplesUpstream(registry=host, releases=releases, digests=digests, media_types=media)
