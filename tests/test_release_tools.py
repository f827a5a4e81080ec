"""Which payload image holds oc/openshift-install, and the release-info markers oc writes into them."""

from __future__ import annotations

import os

import pytest

from bundler.content.release.tools import (
    RELEASE_ARCH_MARKER,
    RELEASE_IMAGE_MARKER,
    RELEASE_VERSION_MARKER,
    Injector,
    ToolSource,
    injector,
    release_platform,
    tool_source,
)
from bundler.errors import BundlerError

IMAGE = "quay.io/openshift-release-dev/ocp-release@sha256:" + "a" * 64


def fake_binary() -> bytes:
    """A binary-like blob with the three markers, as the installer is built (go:embed padding)."""
    r = os.urandom
    return r(5000) + RELEASE_IMAGE_MARKER + r(3000) + RELEASE_VERSION_MARKER + r(700) + RELEASE_ARCH_MARKER + r(900)


def expected(data: bytes, values: dict[bytes, str]) -> bytes:
    out = bytearray(data)
    for marker, value in values.items():
        at = out.find(marker)
        out[at:at + len(value) + 1] = value.encode() + b"\x00"
    return bytes(out)


@pytest.mark.parametrize("chunk", [1, 7, 64, 300, 4096, 1 << 20])
def test_markers_are_replaced_across_any_chunking(chunk: int) -> None:
    data = fake_binary()
    inj = injector("openshift-install", release_image=IMAGE, version="4.14.3", architecture="linux/amd64")
    out = b"".join(inj.stream(data[i:i + chunk] for i in range(0, len(data), chunk)))
    assert len(out) == len(data)
    assert out == expected(data, {RELEASE_IMAGE_MARKER: IMAGE, RELEASE_VERSION_MARKER: "4.14.3",
                                  RELEASE_ARCH_MARKER: "linux/amd64"})
    assert inj.missing == []
    at = data.find(RELEASE_IMAGE_MARKER)
    assert out[at:at + len(IMAGE) + 1] == IMAGE.encode() + b"\x00"  # the installer reads up to the NUL


def test_only_the_first_occurrence_and_missing_markers_are_reported() -> None:
    data = b"a" + RELEASE_VERSION_MARKER + b"b" + RELEASE_VERSION_MARKER
    inj = injector("oc", release_image=IMAGE, version="4.14.3", architecture="x")
    out = b"".join(inj.stream([data]))
    assert out.count(RELEASE_VERSION_MARKER) == 1 and out.startswith(b"a4.14.3\x00")
    inj2 = injector("openshift-install", release_image=IMAGE, version="4.14.3", architecture="multi (linux/arm64)")
    assert b"".join(inj2.stream([b"no markers here"])) == b"no markers here"
    assert inj2.missing == [RELEASE_IMAGE_MARKER, RELEASE_VERSION_MARKER, RELEASE_ARCH_MARKER]


def test_value_longer_than_its_marker_is_refused() -> None:
    with pytest.raises(BundlerError, match="longer than the 326 bytes"):
        Injector({RELEASE_IMAGE_MARKER: "r" * 327})
    Injector({RELEASE_IMAGE_MARKER: "r" * 326})


def test_tool_sources_follow_oc() -> None:
    assert tool_source("oc", "amd64", "amd64") == ToolSource("oc", "cli", "usr/bin/oc", False)
    src = tool_source("openshift-install", "arm64", "arm64")
    assert (src.image, src.path, src.inject_release) == ("installer", "usr/bin/openshift-install", True)
    src = tool_source("openshift-install", "amd64", "arm64")
    assert (src.image, src.path) == ("installer-artifacts", "usr/share/openshift/linux_amd64/openshift-install")
    assert tool_source("oc", "ppc64le", "amd64").path == "usr/share/openshift/linux_ppc64le/oc"
    with pytest.raises(BundlerError, match="carries no openshift-install for linux/s390x"):
        tool_source("openshift-install", "s390x", "amd64")
    with pytest.raises(BundlerError, match="not one of oc, openshift-install"):
        tool_source("kubectl", "amd64", "amd64")
    assert release_platform("linux", "amd64", False) == "linux/amd64"
    assert release_platform("linux", "arm64", True) == "multi (linux/arm64)"
