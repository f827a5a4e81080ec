"""Image reference grammar and mirror-path mapping."""

import pytest

from bundler.errors import ConfigError
from bundler.mapping import mirror_repositories, split_target
from bundler.oci.reference import parse

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "text, registry, repo, tag, digest",
    [
        ("quay.io/openshift-release-dev/ocp-release:4.4.5-x86_64", "quay.io", "openshift-release-dev/ocp-release",
         "4.4.5-x86_64", None),
        (f"quay.io/a/b@{D}", "quay.io", "a/b", None, D),
        (f"quay.io/a/b:1.0@{D}", "quay.io", "a/b", "1.0", D),
        ("busybox", "docker.io", "library/busybox", "latest", None),
        ("user/app:2", "docker.io", "user/app", "2", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("127.0.0.1:5000/ns/app:v1", "127.0.0.1:5000", "ns/app", "v1", None),
        ("docker://registry.redhat.io/ubi8/ubi:8.4", "registry.redhat.io", "ubi8/ubi", "8.4", None),
    ],
)
def test_parse(text: str, registry: str, repo: str, tag: str | None, digest: str | None) -> None:
    ref = parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repo, tag, digest)


def test_str_round_trip() -> None:
    for text in ("quay.io/a/b:1", f"quay.io/a/b@{D}", "127.0.0.1:5000/x:y"):
        assert str(parse(text)) == text


@pytest.mark.parametrize("bad", ["", "Quay.io/UPPER/case:1", "quay.io/a/b@sha256:short", "a b", "quay.io/a:bad tag"])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ConfigError, match="not an image reference"):
        parse(bad)


def test_split_target() -> None:
    assert split_target("mirror.example:8443/ocp4") == ("mirror.example:8443", "ocp4")
    assert split_target("https://mirror:5000/") == ("mirror:5000", "")


def test_mirror_paths_keep_source_path_and_prefix() -> None:
    got = mirror_repositories(["quay.io/openshift-release-dev/ocp-release", "registry.redhat.io/ubi8/ubi"],
                              "mirror:5000/pre")
    assert got == {
        "quay.io/openshift-release-dev/ocp-release": "mirror:5000/pre/openshift-release-dev/ocp-release",
        "registry.redhat.io/ubi8/ubi": "mirror:5000/pre/ubi8/ubi",
    }


def test_mirror_paths_collisions_are_kept_apart() -> None:
    got = mirror_repositories(["quay.io/a/b", "docker.io/a/b", "quay.io/c"], "mirror:5000")
    assert got["quay.io/a/b"] == "mirror:5000/quay.io/a/b"
    assert got["docker.io/a/b"] == "mirror:5000/docker.io/a/b"
    assert got["quay.io/c"] == "mirror:5000/c"
    assert len(set(got.values())) == 3
