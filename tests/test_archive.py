"""The bundle format on real files: the writer fed by parallel downloads (each in its place), exact
part sizes, the front, checksums, the journal after an interruption, streaming back, corruption named,
parity, media presets, and schema-1 bundles still read."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.bundle.archive import ArchiveReader
from bundler.bundle.media import PRESETS, split_size
from bundler.bundle.metadata import METADATA_FILE, BundleMetadata
from bundler.bundle.names import checksum_path, journal_path
from bundler.bundle.parity import ParitySet, Resilient, write_parity
from bundler.bundle.parts import parse_size
from bundler.bundle.source import BundleSource
from bundler.bundle.writer import BundleWriter, Finish
from bundler.errors import BundleError, BundlerError, DigestMismatchError, DiskError
from bundler.oci.layout import OCILayout
from testkit.bundle_v1 import write_schema1


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _chunks(data: bytes, size: int = 64 << 10) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def _blobs(n: int, size: int, seed: int = 0) -> dict[str, bytes]:
    """Incompressible blobs; every other one starts like gzip (a layer: stored, not compressed again)."""
    out = {}
    for i in range(n):
        magic = b"\x1f\x8b" if i % 2 else b""
        data = magic + hashlib.sha256(f"{seed}/{i}".encode()).digest() + os.urandom(size - 32 + i)
        out[_digest(data)] = data
    return out


def _inside_one_part(parts: list[Path], data: bytes) -> tuple[Path, int]:
    """Where a piece of a stored blob lies whole in one part (a blob, and any piece of it, may straddle two)."""
    contents = [(part, part.read_bytes()) for part in parts]
    for start in range(len(data) - 1024, 0, -4096):
        for part, raw in contents:
            if (at := raw.find(data[start:start + 1024])) >= 0:
                return part, at
    raise AssertionError("the stored blob is in no part")


def _put_all(writer: BundleWriter, blobs: dict[str, bytes], workers: int = 4) -> None:
    items = list(blobs.items())
    errors: list[BaseException] = []

    def run(chunk: list[tuple[str, bytes]]) -> None:
        try:
            for digest, data in chunk:
                writer.put_blob(digest, len(data), _chunks(data))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(items[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _commit(writer: BundleWriter, finish: Finish | None = None) -> BundleMetadata:
    meta = BundleMetadata()
    writer.commit(meta, b'{"schemaVersion": 2, "manifests": []}\n', [], set(), finish or Finish())
    return meta


def _read_all(bundle: Path) -> dict[str, bytes]:
    reader = ArchiveReader(bundle)
    try:
        return {e.digest or e.name: e.fileobj.read() for e in reader.entries()}
    finally:
        reader.close()


def test_parse_size_and_media_presets() -> None:
    assert parse_size("4G") == 4 << 30
    assert parse_size("1.5GiB") == int(1.5 * (1 << 30))
    with pytest.raises(BundlerError, match="not a size"):
        parse_size("lots")
    assert split_size("dvd") == 4418 << 20 < 4_700_372_992
    assert split_size("BD25") == PRESETS["bd25"] < 25_025_314_816
    assert split_size("fat32") < (4 << 30) - (64 << 10)  # a parity part (data + 64 KiB header) still fits FAT32
    assert split_size("700M") == 700 << 20
    assert split_size(None) is None and split_size(None, config_gib=4) == 4 << 30  # the archiveSize hook
    with pytest.raises(BundlerError, match="floppy") as err:
        split_size("floppy")
    assert all(name in str(err.value) for name in PRESETS)


def test_parallel_blobs_become_exact_parts_that_stream_back(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.zst"
    blobs = _blobs(12, 150_000)
    writer = BundleWriter(bundle, 200_000)
    _put_all(writer, blobs)
    meta = _commit(writer)
    parts = sorted(tmp_path.glob("b.tar.zst.[0-9]*"))
    assert len(parts) >= 9 and {p.stat().st_size for p in parts[:-1]} == {200_000}
    assert [p["name"] for p in meta.parts] == [p.name for p in parts]
    lines = checksum_path(bundle).read_text().splitlines()
    assert [line.split()[1] for line in lines] == [bundle.name, *(p.name for p in parts)]
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert _read_all(bundle) == blobs
    assert sorted(meta.other_blobs) == sorted(blobs) and not journal_path(bundle).exists()
    # by hand: the front and the parts are one tar+zstd stream
    out = subprocess.run(f"cat {bundle} {' '.join(map(str, parts))} | zstd -q -d | tar -tf -", shell=True,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[:3] == ["oci-layout", "index.json", METADATA_FILE] and len(out) == 3 + len(blobs)


def _held(data: bytes, started: threading.Event, release: threading.Event) -> Iterator[bytes]:
    """A download that gives its first chunk, then stalls until told to go on."""
    chunks = _chunks(data, 100_000)
    yield next(chunks)
    started.set()
    release.wait(60)
    yield from chunks


def test_downloads_write_in_place_in_parallel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each blob's place is reserved when its download starts; a slow one early in the stream does not hold
    the later ones back, and the parts hash and read back as one stream. (Blobs of 1 MB stand for large ones
    that do not look compressed: the size up to which such blobs are compressed is lowered.)"""
    monkeypatch.setattr("bundler.bundle.sink.COMPRESS_UP_TO", 500_000)
    bundle = tmp_path / "b.tar.zst"
    blobs = _blobs(6, 1_000_000, seed=1)
    writer = BundleWriter(bundle, 700_000)
    slow_digest, slow_data = next(iter(blobs.items()))
    started, release = threading.Event(), threading.Event()
    slow = threading.Thread(target=writer.put_blob, args=(slow_digest, len(slow_data),
                                                          _held(slow_data, started, release)))
    slow.start()
    assert started.wait(30)  # it has its place first
    _put_all(writer, dict(list(blobs.items())[1:]), workers=3)
    assert slow.is_alive() and writer.disk.hashed < 1_000_000  # the others are written; hashing waits for it
    release.set()
    slow.join()
    meta = _commit(writer)
    assert meta.other_blobs[0] == slow_digest and sorted(meta.other_blobs) == sorted(blobs)
    assert _read_all(bundle) == blobs
    for line in checksum_path(bundle).read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest


def test_a_download_that_fails_midway_leaves_nothing_of_it(tmp_path: Path) -> None:
    """Its place is filled with zstd skippable frames: every reader (ours, zstd, tar) passes over it."""
    bundle = tmp_path / "b.tar.zst"
    good = _blobs(3, 300_000, seed=2)
    writer = BundleWriter(bundle, 100_000)

    def broken() -> Iterator[bytes]:
        yield b"\x1f\x8b" + os.urandom(250_000)
        raise DigestMismatchError("blob hashed to something else")

    _put_all(writer, dict(list(good.items())[:2]), workers=1)
    with pytest.raises(DigestMismatchError):
        writer.put_blob("sha256:" + "1" * 64, 400_000, broken())
    _put_all(writer, dict(list(good.items())[2:]), workers=1)
    meta = _commit(writer)
    assert _read_all(bundle) == good and "sha256:" + "1" * 64 not in meta.other_blobs
    parts = sorted(tmp_path.glob("b.tar.zst.[0-9]*"))
    out = subprocess.run(f"cat {bundle} {' '.join(map(str, parts))} | zstd -q -d | tar -tf -", shell=True,
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(out) == 3 + len(good)


def test_a_blob_longer_or_shorter_than_its_descriptor_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.zst"
    writer = BundleWriter(bundle, None)
    data = b"\x1f\x8b" + os.urandom(200_000)
    with pytest.raises(DigestMismatchError, match="at least 200002 bytes arrived, its manifest says 199002"):
        writer.put_blob(_digest(data), len(data) - 1000, _chunks(data))
    with pytest.raises(DigestMismatchError, match="200002 bytes arrived, its manifest says 201002"):
        writer.put_blob(_digest(data), len(data) + 1000, _chunks(data))
    writer.put_blob(_digest(data), len(data), _chunks(data))
    _commit(writer)
    assert _read_all(bundle) == {_digest(data): data}


def test_an_interrupted_writer_resumes_from_its_journal(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.zst"
    blobs = _blobs(6, 120_000, seed=3)
    items = list(blobs.items())
    writer = BundleWriter(bundle, 100_000)
    _put_all(writer, dict(items[:4]), workers=1)
    writer.drain()
    writer.abort(KeyboardInterrupt())
    with open(tmp_path / "b.tar.zst.004", "ab") as fh:  # bytes after the last journaled blob: torn
        fh.write(b"torn write")
    again = BundleWriter(bundle, 100_000)
    assert {d for d, _ in again.order} == {d for d, _ in items[:4]} and again.resumed == sum(
        len(b) for _, b in items[:4])
    _put_all(again, dict(items[4:]), workers=1)
    _commit(again)
    assert _read_all(bundle) == blobs
    # other settings (another split size): nothing is kept
    third = BundleWriter(bundle, 150_000)
    assert third.order == [] and not bundle.exists()
    third.abort(KeyboardInterrupt())


def _bundle_with_parity(tmp_path: Path, percent: float) -> tuple[Path, dict[str, bytes]]:
    bundle = tmp_path / "b.tar.zst"
    blobs = _blobs(6, 100_000, seed=4)
    writer = BundleWriter(bundle, 120_000)
    _put_all(writer, blobs)
    _commit(writer, Finish(parity_percent=percent))
    return bundle, blobs


def test_parity_rebuilds_lost_parts_while_reading_and_on_repair(tmp_path: Path) -> None:
    bundle, blobs = _bundle_with_parity(tmp_path, 40)
    parity = ParitySet.load(bundle)
    assert parity is not None and parity.layout.m == len(parity.present) >= 2
    originals = {p.name: p.read_bytes() for p in tmp_path.glob("b.tar.zst*")}
    bundle.unlink()  # the front too
    (tmp_path / "b.tar.zst.002").unlink()
    reader = ArchiveReader(bundle)
    assert {e.digest: e.fileobj.read() for e in reader.entries()} == blobs
    assert sorted(reader.rebuilt) == ["b.tar.zst", "b.tar.zst.002"]
    assert not bundle.exists()  # nothing written by reading
    fresh = ParitySet.load(bundle)
    assert fresh is not None
    written = fresh.repair(fresh.lost())
    assert sorted(p.name for p in written) == ["b.tar.zst", "b.tar.zst.002"]
    assert all((tmp_path / name).read_bytes() == data for name, data in originals.items())


def test_not_enough_parity_names_the_lost_parts(tmp_path: Path) -> None:
    bundle, _ = _bundle_with_parity(tmp_path, 10)
    for name in ("b.tar.zst.001", "b.tar.zst.003"):
        (tmp_path / name).unlink()
    with pytest.raises(BundleError, match=r"2 part\(s\) are lost .*b\.tar\.zst\.001, b\.tar\.zst\.003.* only 1 parity"):
        ArchiveReader(bundle)


def test_parity_needs_at_most_256_shares(tmp_path: Path) -> None:
    files = []
    for i in range(250):
        files.append(tmp_path / f"x.{i:03d}")
        files[-1].write_bytes(b"x")
    with pytest.raises(BundleError, match="larger --split-size"):
        write_parity(tmp_path / "x", files, 10)


def _damage(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_corrupt_truncated_and_missing_parts_are_named(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.zst"
    writer = BundleWriter(bundle, 200_000)
    _put_all(writer, _blobs(8, 150_000, seed=5))
    _commit(writer)
    _damage(tmp_path / "b.tar.zst.002", 1000)
    with pytest.raises(BundleError, match="b.tar.zst.002"):
        _read_all(bundle)
    last = sorted(tmp_path.glob("b.tar.zst.[0-9]*"))[-1]
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.raises(BundleError, match=last.name):
        ArchiveReader(bundle)
    (tmp_path / "b.tar.zst.001").unlink()
    with pytest.raises(BundleError, match=r"b\.tar\.zst\.001 is missing .*b\.tar\.zst\.001, " + last.name.replace(".", r"\.")):
        ArchiveReader(bundle)


def test_blobs_read_straight_into_buffers_across_parts_and_are_checked(tmp_path: Path) -> None:
    """Import reads each blob into a buffer of its own (no copy on the way): stored and compressed frames,
    blobs that cross part boundaries, and a flipped byte found by the blob's digest or by its part's."""
    bundle = tmp_path / "b.tar.zst"
    blobs = _blobs(12, 150_000, seed=9)  # every other one stored; parts smaller than a blob
    writer = BundleWriter(bundle, 200_000)
    _put_all(writer, blobs)
    _commit(writer)

    def fill_all(verify: bool) -> dict[str, bytes]:
        source = BundleSource(ArchiveReader(bundle))
        got = {}
        try:
            for blob in source.stream_blobs(verify):
                assert blob.fill is not None
                view = memoryview(bytearray(blob.size + 4096))[:blob.size]  # a reused buffer is larger
                blob.fill(view)
                got[blob.digest] = bytes(view)
        finally:
            source.close()
        return got

    assert fill_all(verify=True) == blobs
    stored = next(d for d, data in blobs.items() if data.startswith(b"\x1f\x8b"))
    part, at = _inside_one_part(sorted(tmp_path.glob("b.tar.zst.0*")), blobs[stored])
    _damage(part, at + 100)
    with pytest.raises(BundleError, match=f"blob {stored} read from bundle part .*corrupt"):
        fill_all(verify=True)
    with pytest.raises(BundleError, match=f"bundle part {part.name} is corrupt"):  # the registry checks the blob
        fill_all(verify=False)


def test_a_checksum_file_that_disagrees_with_the_front_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.zst"
    writer = BundleWriter(bundle, 200_000)
    _put_all(writer, _blobs(3, 150_000, seed=6))
    _commit(writer)
    _damage(tmp_path / "b.tar.zst.001", 10)
    sums = checksum_path(bundle)
    new = hashlib.sha256((tmp_path / "b.tar.zst.001").read_bytes()).hexdigest()
    sums.write_text("".join(line if "b.tar.zst.001" not in line else f"{new}  b.tar.zst.001\n"
                            for line in sums.read_text().splitlines(keepends=True)))
    with pytest.raises(BundleError, match="b.tar.zst.sha256 says part b.tar.zst.001"):
        ArchiveReader(bundle)


def test_schema1_bundles_still_read(tmp_path: Path) -> None:
    layout = OCILayout(tmp_path / "layout")
    blobs = _blobs(4, 80_000, seed=7)
    for d, data in blobs.items():
        layout.write_blob(d, [data])
    layout.write_index([])
    layout.write_json(METADATA_FILE, {"schemaVersion": 1, "images": [], "manifests": [], "bootstrapBlobs": [],
                                      "otherBlobs": list(blobs)})
    for split in (None, 100_000):
        bundle = tmp_path / f"v1-{split}" / "b.tar.zst"
        bundle.parent.mkdir()
        write_schema1(layout.root, bundle, split)
        reader = ArchiveReader(bundle)
        assert reader.schema == 1 and {e.digest: e.fileobj.read() for e in reader.entries()} == blobs


def test_not_a_bundle_and_unwritable_destination(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.zst"
    junk.write_bytes(b"hello, this is not zstd" * 100)
    with pytest.raises(BundleError, match="not a bundle"):
        ArchiveReader(junk)
    with pytest.raises(BundleError, match="no bundle"):
        ArchiveReader(tmp_path / "nothing.tar.zst")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DiskError, match="file"):
        BundleWriter(blocker / "b.tar.zst", None)


def test_layout_refuses_wrong_digest(tmp_path: Path) -> None:
    layout = OCILayout(tmp_path / "l")
    with pytest.raises(BundlerError, match="hashed to"):
        layout.write_blob("sha256:" + "0" * 64, [b"data"])
    assert list((tmp_path / "l" / "blobs" / "sha256").iterdir()) == []


class _FailingMedium(io.RawIOBase):
    """A part whose medium returns EIO after ``good`` bytes. A double: no real device can be made to fail
    on cue here (no device-mapper), and the point is what the reader does next."""

    def __init__(self, path: Path, good: int) -> None:
        super().__init__()
        self.fh = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        n = self.fh.readinto(memoryview(b)[: min(len(b), self.left)]) or 0
        self.left -= n
        return n

    def close(self) -> None:
        self.fh.close()
        super().close()


def test_an_io_error_mid_part_continues_from_parity(tmp_path: Path) -> None:
    bundle, _ = _bundle_with_parity(tmp_path, 30)
    parity = ParitySet.load(bundle)
    assert parity is not None
    part = tmp_path / "b.tar.zst.001"
    index = parity.index_of(part.name)
    assert index is not None
    switched: list[bool] = []
    reader = Resilient(part, parity, index, lambda: switched.append(True))
    reader._fh.close()
    reader._fh = _FailingMedium(part, 50_001)
    data = b"".join(iter(lambda: reader.read(7_000), b""))
    reader.close()
    assert switched == [True] and data == part.read_bytes()
