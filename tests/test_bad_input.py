"""Bad input gives one clear message naming the thing, a non-zero exit, and nothing corrupt left behind.
Real registries (token auth over TLS) and real files; the full disk is a real 1 MiB tmpfs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from testkit.cli import invoke as cli
from testkit.registry import RegistryServer, free_port, write_authfile
from testkit.synthetic import Upstream, build_upstream


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryServer, Upstream, Path]]:
    server = RegistryServer(auth="token").start()
    up = build_upstream(server.client(), version="4.4.5", components=3, layer_size=8 * 1024)
    d = tmp_path_factory.mktemp("bad")
    server.authfile(d / "auth.json")
    yield server, up, d
    server.close()


def _config(path: Path, release: str | None = None, images: list[str] | None = None) -> Path:
    mirror: dict = {}
    if release:
        mirror["platform"] = {"release": release}
    if images:
        mirror["additionalImages"] = [{"name": i} for i in images]
    path.write_text(yaml.safe_dump({"kind": "ImageSetConfiguration", "apiVersion": "mirror.openshift.io/v2alpha1",
                                    "mirror": mirror}))
    return path


def test_unknown_tag_names_the_image(upstream: tuple, tmp_path: Path) -> None:
    server, up, d = upstream
    ref = f"{up.host}/openshift-release-dev/ocp-release:9.9.9-x86_64"
    code, out = cli("export", "-c", _config(tmp_path / "c.yaml", release=ref), "-o", tmp_path / "b.tar.zst",
                    "--authfile", d / "auth.json", "--ca-file", server.ca_file)
    assert code != 0 and ref in out and "not found" in out
    assert not (tmp_path / "b.tar.zst").exists()


def test_wrong_and_missing_credentials(upstream: tuple, tmp_path: Path) -> None:
    server, up, _ = upstream
    wrong = write_authfile(tmp_path / "wrong.json", {server.host: (server.username, "not-the-password")})
    code, out = cli("export", "-c", _config(tmp_path / "c.yaml", release=up.release), "-o", tmp_path / "b.tar.zst",
                    "--authfile", wrong, "--ca-file", server.ca_file)
    assert code != 0 and server.host in out and "refused the credentials" in out
    assert "not-the-password" not in out
    empty = tmp_path / "empty.json"
    empty.write_text('{"auths": {}}')
    code, out = cli("export", "-c", tmp_path / "c.yaml", "-o", tmp_path / "b.tar.zst", "--authfile", empty,
                    "--ca-file", server.ca_file)
    assert code != 0 and "no credentials found" in out


def test_tls_failure_says_how_to_pass_a_ca(upstream: tuple, tmp_path: Path) -> None:
    server, up, d = upstream
    code, out = cli("export", "-c", _config(tmp_path / "c.yaml", release=up.release), "-o", tmp_path / "b.tar.zst",
                    "--authfile", d / "auth.json")
    assert code != 0 and "TLS verification failed" in out and "--ca-file" in out


def test_registry_unreachable(tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    code, out = cli("export", "-c", _config(tmp_path / "c.yaml", images=[f"{host}/a/b:1"]), "-o", tmp_path / "b.tar.zst")
    assert code != 0 and f"cannot reach registry {host}" in out
    code, out = cli("import", tmp_path / "nothing.tar.zst", "--registry", host, "-o", tmp_path / "o")
    assert code != 0 and "no bundle" in out


def test_malformed_config_names_the_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n"
                   "  additionalImages:\n  - name: quay.io/a/b:1\n  - name: {broken\n")
    code, out = cli("export", "-c", cfg, "-o", tmp_path / "b.tar.zst")
    assert code == 1 and "c.yaml line" in out and "not valid YAML" in out


def test_release_without_image_references(upstream: tuple, tmp_path: Path) -> None:
    server, up, d = upstream
    not_a_release = next(iter(up.additional))
    code, out = cli("export", "-c", _config(tmp_path / "c.yaml", release=not_a_release), "-o", tmp_path / "b.tar.zst",
                    "--authfile", d / "auth.json", "--ca-file", server.ca_file)
    assert code != 0 and "image-references" in out and not_a_release in out


def test_bundle_path_not_writable(upstream: tuple, tmp_path: Path) -> None:
    server, up, d = upstream
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, out = cli("export", "-c", _config(tmp_path / "c.yaml", release=up.release), "-o", blocker / "b.tar.zst",
                    "--authfile", d / "auth.json", "--ca-file", server.ca_file)
    assert code == 1 and str(blocker) in out and "writable" in out


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "usb"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_disk_too_small_for_the_bundle(tmp_path: Path, tiny_disk: Path) -> None:
    """The free-space check against the plan's sizes refuses before the pull; nothing is left behind.
    (A disk that fills up during the pull: tests/test_media.py.)"""
    server = RegistryServer(auth=None).start()
    try:
        up = build_upstream(server.client(), version="4.4.6", components=3, layer_size=600 * 1024)
        code, out = cli("export", "-c", up.write_config(tmp_path / "c.yaml"), "-o", tiny_disk / "b.tar.zst",
                        "--ca-file", server.ca_file)
    finally:
        server.close()
    assert code == 1 and "not enough free space" in out and str(tiny_disk) in out, out
    assert list(tiny_disk.iterdir()) == []


def test_a_file_that_is_not_a_bundle(tmp_path: Path) -> None:
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0" + b"0" * 4096)
    for cmd in (("inspect", junk), ("verify", junk), ("import", junk, "--registry", "127.0.0.1:1", "-o", tmp_path / "o")):
        code, out = cli(*cmd)
        assert code == 1 and "not a bundle" in out and str(junk) in out
