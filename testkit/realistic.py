"""What the realistic configurations (tests/data/isc/) name, pushed into one real registry under the same
paths, and the configurations rewritten to name it there: every host (registry.redhat.io, quay.io,
docker.io, ghcr.io) becomes the test registry, every pinned digest the digest of what was pushed, and the
``oci://files/...`` layouts real OCI layouts in the copy's directory.

Content: releases 4.16.8 and 4.16.9 (x86_64) whose cluster-samples-operator carries image streams (ruby,
python, nodejs, jenkins, jenkins-agent-base) and whose CoreOS boot images name a KubeVirt disk, additional
images (``node-exporter`` and ``ubi-minimal`` as
four- and two-platform lists), and file-based catalogs: ``redhat/redhat-operator-index`` v4.12, v4.14,
v4.15 and v4.16 (the last a two-platform list; cluster-logging 6.0.2 requires package loki-operator,
web-terminal requires the DevWorkspace API that devworkspace-operator provides), and
``redhat/certified-operator-index`` by digest (gpu-operator-certified), also as an OCI layout.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .fbc_catalogs import Pkg, build_fbc, push_catalog, write_layout
from .releases import BOOTIMAGES, bootimages
from .synthetic import push_image, push_multiarch, push_release_image
from .synthetic_samples import imagestream

HOSTS = ("registry.redhat.io", "quay.io", "docker.io", "ghcr.io")
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "isc"
RELEASE_REPO = "openshift-release-dev/ocp-release"
COMPONENT_REPO = "openshift-release-dev/ocp-v4.0-art-dev"
SAMPLE_STREAMS = {"ruby": "ubi9/ruby-33:latest", "python": "ubi9/python-311:latest", "nodejs": "ubi9/nodejs-20:latest",
                  "jenkins": "ocp-tools-4/jenkins-rhel9:v4.16", "jenkins-agent-base": "ocp-tools-4/jenkins-agent-base:v4.16"}
# digests written in the configurations -> the path whose pushed digest replaces them
PINNED = {
    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210": f"{RELEASE_REPO}:4.16.8-x86_64",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": "rhel9/support-tools",
    "89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567": "redhat/certified-operator-index",
    "8bedbe742f140108897fb3532068e8316900d9814f399d676ac78b46e740e34e": "ubi8/ubi-minimal",
}
IMAGES = ("library/registry:2.8.3", "ubi9/ubi:latest", "library/alpine:3.20", "unwanted/debug-tools:latest",
          "ubi9/nodejs-20:1-59", "stefanprodan/podinfo:6.7.0", "ubi8/ubi:latest", "ubi9/python-311:1-77",
          "odf4/odf-must-gather-rhel9:v4.14")
LISTS = {"prometheus/node-exporter:v1.8.2": ("amd64", "arm64", "ppc64le", "s390x"),
         "ubi9/ubi-minimal:9.4": ("amd64", "arm64")}
UNTAGGED = ("rhel9/support-tools", "ubi8/ubi-minimal")


def _pkgs_416(host: str) -> list[Pkg]:
    dw = "workspace.devfile.io/v1alpha2/DevWorkspace"
    loki = {"type": "olm.package.required", "value": {"packageName": "loki-operator", "versionRange": ">=6.0.0 <6.1.0"}}
    return [
        Pkg("elasticsearch-operator", "stable-5.8", {"stable-5.8": ["5.8.10", "5.8.11"], "stable": ["5.8.11"]}),
        Pkg("cluster-logging", "stable-6.0", {"stable-6.0": ["6.0.0", "6.0.1", "6.0.2"],
                                              "stable-5.9": ["5.9.6", "5.9.7", "5.9.8"]}, requires={"6.0.2": [loki]}),
        Pkg("loki-operator", "stable-6.0", {"stable-6.0": ["6.0.0", "6.0.1"], "stable-5.9": ["5.9.8"]}),
        Pkg("rhacs-operator", "stable", {"stable": ["4.5.0", "4.5.1", "4.5.2", "4.5.3", "4.6.0"]}),
        Pkg("local-storage-operator", "stable", {"stable": ["4.16.0-202409051837"]}),
        Pkg("web-terminal", "fast", {"fast": ["1.10.0", "1.11.0"]},
            requires={v: [{"type": "olm.gvk.required", "value": dict(zip(("group", "version", "kind"), dw.split("/"),
                                                                           strict=True))}] for v in ("1.10.0", "1.11.0")}),
        Pkg("devworkspace-operator", "fast", {"fast": ["0.30.0", "0.31.0"]}, provides=[dw]),
    ]


CATALOGS: dict[str, Any] = {
    "v4.12": lambda host: [Pkg("aws-load-balancer-operator", "stable-v1", {"stable-v1": ["1.0.0", "1.0.1", "1.1.0"]}),
                           Pkg("mtc-operator", "release-v1.7", {"release-v1.7": ["1.7.8", "1.7.9", "1.7.10"]}),
                           Pkg("kiali-ossm", "stable", {"stable": ["1.57.0", "1.65.0", "1.73.0"]})],
    "v4.14": lambda host: [Pkg("odf-operator", "stable-4.14", {"stable-4.14": ["4.14.5", "4.14.6"]},
                               related=[f"{host}/odf4/odf-must-gather-rhel9:v4.14"])],
    "v4.15": lambda host: [Pkg("aws-load-balancer-operator", "stable-v1", {"stable-v1": ["1.0.0", "1.1.0", "1.1.1"]})],
    "v4.16": _pkgs_416,
}
CERTIFIED = [Pkg("gpu-operator-certified", "v24.6", {"v24.6": ["24.6.0", "24.6.1"], "stable": ["24.6.1"]})]


@dataclass
class Realistic:
    host: str
    digests: dict[str, str] = field(default_factory=dict)         # path[:tag] -> digest
    certified_files: dict[str, bytes] = field(default_factory=dict)
    bundles: dict[str, str] = field(default_factory=dict)         # bundle name -> image ref

    def rewrite(self, text: str) -> str:
        """The configuration naming the test registry (and what was pushed there) instead of Red Hat's."""
        for h in HOSTS:
            text = text.replace(h, self.host).replace(re.escape(h), re.escape(self.host))
        for fixed, path in PINNED.items():
            text = text.replace(fixed, self.digests[path].removeprefix("sha256:"))
        # bundler's bootstrap images default to docker.io / registry.redhat.io: name the test registry's
        return text.replace("  flavor: distribution\n", f"  flavor: distribution\n  images:\n"
                                                        f"    registry: {self.host}/library/registry:2.8.3\n")

    def copy_config(self, name: str, dest: Path, *, drop_channels: bool = False) -> Path:
        """The configuration ``name`` rewritten into ``dest`` with real layouts and the template beside it; with
        ``drop_channels`` without its release channels (issue 9's, which need an update graph)."""
        dest.mkdir(parents=True, exist_ok=True)
        files = dest / "files"
        if not files.exists():
            shutil.copytree(DATA / "files", files)
            shutil.rmtree(files / "catalogs" / "certified-index")
            shutil.rmtree(files / "images" / "debug-tools")
            write_layout(files / "catalogs" / "certified-index", self.certified_files)
            write_layout(files / "images" / "debug-tools", image_files={"usr/bin/debug": b"#!/bin/sh\necho debug\n"})
        out = dest / name
        text = self.rewrite((DATA / name).read_text())
        if drop_channels:
            doc = yaml.safe_load(text)
            section = doc["mirror"] if "mirror" in doc else doc["delete"]
            section["platform"].pop("channels", None)
            if not section["platform"]:
                del section["platform"]
            text = yaml.safe_dump(doc, sort_keys=False)
        out.write_text(text)
        return out


def _release(client: Any, up: Realistic, version: str) -> None:
    host = client.registry
    assets = {f"opt/openshift/operator/x86_64/rhel/imagestreams/{name}.json":
              imagestream(name, [("latest", "DockerImage", f"{host}/{path}")]) for name, path in SAMPLE_STREAMS.items()}
    op = push_image(client, COMPONENT_REPO, None, assets)
    cli = push_image(client, COMPONENT_REPO, None, {"usr/bin/oc": f"oc {version}\n".encode()})
    disk = push_image(client, COMPONENT_REPO, None, {"disk/rhcos-kubevirt.qcow2": f"disk {version}".encode()})
    tag = f"{version}-x86_64"
    m, _, _ = push_release_image(client, RELEASE_REPO, tag, version, {
        "cli": f"{host}/{COMPONENT_REPO}@{cli.digest}", "cluster-samples-operator": f"{host}/{COMPONENT_REPO}@{op.digest}"},
        release_files={BOOTIMAGES: bootimages(f"{host}/{COMPONENT_REPO}@{disk.digest}")})
    up.digests[f"{RELEASE_REPO}:{tag}"] = m.digest


def build_realistic(client: Any) -> Realistic:
    host = client.registry
    up = Realistic(host)
    for path in (*IMAGES, *SAMPLE_STREAMS.values()):
        repo, tag = path.rsplit(":", 1)
        up.digests[path] = push_image(client, repo, tag, {f"usr/share/{repo}/README": path.encode()}).digest
    for path, arches in LISTS.items():
        repo, tag = path.rsplit(":", 1)
        index, _ = push_multiarch(client, repo, tag, {a: {f"usr/bin/{repo}": f"{path} {a}".encode()} for a in arches})
        up.digests[path] = index.digest
    for repo in UNTAGGED:
        up.digests[repo] = push_image(client, repo, None, {f"usr/share/{repo}/README": repo.encode()}).digest
    for version in ("4.16.8", "4.16.9"):
        _release(client, up, version)
    for tag, pkgs in CATALOGS.items():
        built = build_fbc(client, "rh", pkgs(host))
        up.bundles.update(built.bundles)
        arches = ("amd64", "arm64") if tag == "v4.16" else ("amd64",)
        up.digests[f"redhat/redhat-operator-index:{tag}"] = push_catalog(
            client, "redhat/redhat-operator-index", tag, built.files, arches)
    certified = build_fbc(client, "nvidia", CERTIFIED)
    up.bundles.update(certified.bundles)
    up.certified_files = certified.files
    up.digests["redhat/certified-operator-index"] = push_catalog(client, "redhat/certified-operator-index", None,
                                                                 certified.files)
    return up
