"""The data parts on disk: writes at any offset across part boundaries, and the part hashing that reads
them back through a mapping of the page cache (any offset, not only page-aligned ones)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bundler.bundle.dataparts import DataParts


def _written(tmp_path: Path, split: int, data: bytes) -> DataParts:
    parts = DataParts(tmp_path / "b.tar.zst", split)
    pieces = [(at, data[at:at + 7000]) for at in range(0, len(data), 7000)]
    for at, piece in reversed(pieces):  # out of order, as parallel downloads write
        parts.write(at, [piece])
    return parts


def test_hash_into_matches_the_bytes_at_unaligned_offsets(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    parts = _written(tmp_path, 20_000, data)
    try:
        assert [p.stat().st_size for p in sorted(tmp_path.glob("b.tar.zst.*"))] == [20_000, 20_000, 10_000]
        for start, length in [(0, 20_000), (20_000, 1), (20_001, 4095), (24_096, 15_904), (40_000, 10_000),
                              (4097, 3)]:
            digest = hashlib.sha256()
            parts.hash_into(digest, start, length)
            assert digest.hexdigest() == hashlib.sha256(data[start:start + length]).hexdigest(), (start, length)
    finally:
        parts.close()


def test_hash_into_names_a_part_shorter_than_was_written(tmp_path: Path) -> None:
    parts = _written(tmp_path, 20_000, os.urandom(30_000))
    try:
        os.truncate(tmp_path / "b.tar.zst.001", 5_000)  # cut behind the writer's back
        with pytest.raises(OSError, match=r"b\.tar\.zst\.001 is shorter than what was written"):
            parts.hash_into(hashlib.sha256(), 20_000, 10_000)
    finally:
        parts.close()


def test_a_filesystem_that_cannot_map_is_read_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Some FUSE mounts refuse ``mmap`` (ENODEV). None is mounted here, so ``mmap.mmap`` is made to refuse
    (a fake, the only one in this file); the bytes, the files and the errors are real."""
    import errno
    import mmap

    def refuse(*args: object, **kwargs: object) -> mmap.mmap:
        raise OSError(errno.ENODEV, "No such device")

    data = os.urandom(50_000)
    parts = _written(tmp_path, 20_000, data)
    monkeypatch.setattr("bundler.bundle.dataparts.mmap.mmap", refuse)
    try:
        digest = hashlib.sha256()
        parts.hash_into(digest, 20_001, 19_999)
        assert digest.hexdigest() == hashlib.sha256(data[20_001:40_000]).hexdigest()
        os.truncate(tmp_path / "b.tar.zst.002", 5_000)
        with pytest.raises(OSError, match=r"b\.tar\.zst\.002 is shorter than what was written"):
            parts.hash_into(hashlib.sha256(), 40_000, 10_000)
    finally:
        parts.close()
