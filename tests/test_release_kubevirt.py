"""The KubeVirt container disk a release's CoreOS stream names (oc-mirror's kubeVirtContainer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.content.release.kubevirt import kubevirt_images, requested_keys
from bundler.errors import BundlerError

BOOTIMAGES = (Path(__file__).parent / "data" / "ocmirror-coreos-bootimages.yaml").read_bytes()
X86 = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:729265d5ef6ed6a45bcd55c46877e3acb9eae3f49c78cd795d5b53aa85e3775b"


def test_digest_ref_of_the_requested_architecture() -> None:
    [img] = kubevirt_images(BOOTIMAGES, requested_keys(["amd64"]), "4.14.1")
    assert (img.arch_key, img.image, img.name, img.rhcos) == ("x86_64", X86, "kube-virt-container", "415.92.202402201450-0")


def test_several_architectures_get_suffixed_names() -> None:
    images = kubevirt_images(BOOTIMAGES, requested_keys(["multi"]), "4.14.1")
    assert [(i.arch_key, i.name) for i in images] == [("x86_64", "kube-virt-container-x86_64"),
                                                      ("s390x", "kube-virt-container-s390x")]


def test_requested_keys_follow_oc_mirror() -> None:
    assert requested_keys() == ["x86_64"]
    assert requested_keys(["arm64"]) == ["x86_64"]
    assert requested_keys(["amd64", "s390x"]) == ["x86_64", "s390x"]
    assert requested_keys(platforms=["arm64"]) == ["x86_64", "s390x"]
    assert requested_keys(platforms=["s390x"]) == ["s390x"]


def test_missing_image_and_missing_stream_are_named() -> None:
    with pytest.raises(BundlerError, match="release 4.14.1: .*bootimages.yaml names no KubeVirt container image for aarch64"):
        kubevirt_images(BOOTIMAGES, ["aarch64"], "4.14.1")
    with pytest.raises(BundlerError, match="has no CoreOS stream"):
        kubevirt_images(b"apiVersion: v1\nkind: ConfigMap\ndata: {}\n", ["x86_64"], "4.9.0")
