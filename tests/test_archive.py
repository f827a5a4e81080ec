"""The bundle archive on real files: tar+zstd, split parts, checksums, streaming, corruption."""

import hashlib
import json
import os
from pathlib import Path

import pytest

from bundler.bundle.archive import ArchiveReader as BundleReader
from bundler.bundle.destination import pack
from bundler.bundle.metadata import METADATA_FILE
from bundler.bundle.parts import checksum_path, parse_size
from bundler.errors import BundleError, BundlerError
from bundler.oci.layout import OCILayout


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_layout(root: Path, n: int = 6, size: int = 300_000) -> tuple[OCILayout, list[str], list[str]]:
    layout = OCILayout(root)
    manifests, blobs = [], []
    for _ in range(n):
        data = os.urandom(size)  # incompressible, so parts really split
        d = _digest(data)
        layout.write_blob(d, [data])
        blobs.append(d)
    m = json.dumps({"schemaVersion": 2, "layers": [{"digest": d} for d in blobs]}).encode()
    layout.write_bytes(_digest(m), m)
    manifests.append(_digest(m))
    layout.write_index([])
    layout.write_json(METADATA_FILE, {"images": [], "manifests": manifests})
    return layout, manifests, blobs


def test_parse_size() -> None:
    assert parse_size("4G") == 4 << 30
    assert parse_size("700M") == 700 << 20
    assert parse_size("1.5GiB") == int(1.5 * (1 << 30))
    with pytest.raises(BundlerError, match="not a size"):
        parse_size("lots")


def test_pack_split_and_stream_back(tmp_path: Path) -> None:
    layout, manifests, blobs = make_layout(tmp_path / "layout")
    bundle = tmp_path / "out" / "b.tar.zst"
    bundle.parent.mkdir()
    parts = pack(layout, bundle, manifests, blobs, split=500_000)
    assert len(parts) >= 3
    assert [p.name for p, _ in parts] == [f"b.tar.zst.{i:03d}" for i in range(len(parts))]
    assert not bundle.exists()
    lines = checksum_path(bundle).read_text().splitlines()
    assert len(lines) == len(parts)
    for (path, digest), line in zip(parts, lines, strict=True):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert line == f"{digest}  {path.name}"
    reader = BundleReader(bundle)
    assert json.loads(reader.front[METADATA_FILE])["manifests"] == manifests
    names = [e.name for e in reader.entries() if e.fileobj.read() is not None]
    assert names == [f"blobs/sha256/{d.split(':')[1]}" for d in manifests + blobs]


def test_single_file_bundle_replaces_old_parts(tmp_path: Path) -> None:
    layout, manifests, blobs = make_layout(tmp_path / "layout", n=2)
    bundle = tmp_path / "b.tar.zst"
    pack(layout, bundle, manifests, blobs, split=100_000)
    pack(layout, bundle, manifests, blobs)
    assert bundle.exists() and not list(tmp_path.glob("b.tar.zst.0*"))
    assert len(checksum_path(bundle).read_text().splitlines()) == 1


def _consume(bundle: Path) -> None:
    reader = BundleReader(bundle)
    for entry in reader.entries():
        entry.fileobj.read()


def test_corrupt_part_is_named(tmp_path: Path) -> None:
    layout, manifests, blobs = make_layout(tmp_path / "layout")
    bundle = tmp_path / "b.tar.zst"
    parts = pack(layout, bundle, manifests, blobs, split=500_000)
    victim = parts[1][0]
    data = bytearray(victim.read_bytes())
    data[1000] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=victim.name):
        _consume(bundle)


def test_truncated_part_is_named(tmp_path: Path) -> None:
    layout, manifests, blobs = make_layout(tmp_path / "layout")
    bundle = tmp_path / "b.tar.zst"
    parts = pack(layout, bundle, manifests, blobs, split=500_000)
    last = parts[-1][0]
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.raises(BundleError, match=last.name):
        _consume(bundle)


def test_missing_part_refused_up_front(tmp_path: Path) -> None:
    layout, manifests, blobs = make_layout(tmp_path / "layout")
    bundle = tmp_path / "b.tar.zst"
    parts = pack(layout, bundle, manifests, blobs, split=500_000)
    parts[2][0].unlink()
    with pytest.raises(BundleError, match=f"{parts[2][0].name} is missing"):
        BundleReader(bundle)


def test_not_a_bundle(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.zst"
    junk.write_bytes(b"hello, this is not zstd" * 100)
    with pytest.raises(BundleError, match="not a bundle"):
        BundleReader(junk)
    with pytest.raises(BundleError, match="no bundle"):
        BundleReader(tmp_path / "nothing.tar.zst")


def test_unwritable_destination(tmp_path: Path) -> None:
    layout, manifests, blobs = make_layout(tmp_path / "layout", n=1)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores mode bits; use a path under a file instead
            target = tmp_path / "file" / "b.tar.zst"
            (tmp_path / "file").write_text("x")
        else:
            target = ro / "b.tar.zst"
        with pytest.raises(BundlerError, match="b.tar.zst"):
            pack(layout, target, manifests, blobs)
    finally:
        ro.chmod(0o700)


def test_layout_refuses_wrong_digest(tmp_path: Path) -> None:
    layout = OCILayout(tmp_path / "l")
    with pytest.raises(BundlerError, match="hashed to"):
        layout.write_blob("sha256:" + "0" * 64, [b"data"])
    assert list((tmp_path / "l" / "blobs" / "sha256").iterdir()) == []
