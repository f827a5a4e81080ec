"""Reading files out of an image's layers (how planners look inside a release) against a real Docker
Distribution: the merged filesystem's view (upper layers win, whiteouts hide), and, asked for exact paths,
no layer below the one that settles the last of them is downloaded."""

from __future__ import annotations

from collections.abc import Iterator

from bundler.content.imagefs import read_files
from bundler.oci import Descriptor, Repository, parse
from bundler.registry import RegistryPool
from bundler.transport.registry import RegistrySource
from testkit.registry import RegistryServer
from testkit.synthetic import build_layer, push_image, random_bytes

REFS = "release-manifests/image-references"
META = "release-manifests/release-metadata"


class CountingSource(RegistrySource):
    """The real registry, remembering which blobs were opened."""

    def __init__(self, pool: RegistryPool) -> None:
        super().__init__(pool)
        self.opened: list[str] = []

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        self.opened.append(desc.digest)
        return super().open_blob(repo, desc)


def _image(basic_registry: tuple[RegistryServer, str]) -> tuple[CountingSource, str, list[str]]:
    server, prefix = basic_registry
    base = build_layer({"usr/bin/big": random_bytes("base", 1 << 20), REFS: b"old", "etc/only-below": b"below",
                        "etc/gone": b"deleted above"})
    top = build_layer({REFS: b"new", META: b"{}", "etc/.wh.gone": b""})
    client = server.client()
    m = push_image(client, f"{prefix}/release", "1", layers=[base, top])
    return CountingSource(RegistryPool.of(client)), f"{server.host}/{prefix}/release@{m.digest}", [base.digest, top.digest]


def test_exact_paths_found_above_leave_the_layers_below_unread(basic_registry: tuple[RegistryServer, str]) -> None:
    source, ref, (base, top) = _image(basic_registry)
    assert read_files(source, parse(ref), (REFS, META)) == {REFS: b"new", META: b"{}"}
    assert source.opened == [top]
    assert read_files(source, parse(ref), ["etc/gone", REFS]) == {REFS: b"new"}   # a whiteout settles it too
    assert source.opened == [top, top]


def test_a_path_only_below_and_a_predicate_read_every_layer(basic_registry: tuple[RegistryServer, str]) -> None:
    source, ref, (base, top) = _image(basic_registry)
    assert read_files(source, parse(ref), [REFS, "etc/only-below"]) == {REFS: b"new", "etc/only-below": b"below"}
    assert source.opened == [top, base]
    assert read_files(source, parse(ref), lambda p: p.startswith("etc/") or p == REFS) == {
        REFS: b"new", "etc/only-below": b"below"}
    assert source.opened[2:] == [top, base]
