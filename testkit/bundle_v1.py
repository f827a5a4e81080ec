"""Schema-1 bundles (one tar+zstd stream, ``BUNDLE`` or ``BUNDLE.000 ...``, no front file), as every
bundler before schema 2 wrote them: made here from an unpacked schema-2 bundle so tests can check that
they still import. The layout is what the old writer produced: oci-layout, index.json, bundler.json, the
manifests, the bootstrap blobs, the other blobs; one zstd frame; BUNDLE.sha256."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import zstandard


def write_schema1(layout: Path, bundle: Path, split: int | None = None) -> list[Path]:
    """Pack the OCI layout directory ``layout`` (with bundler.json) as a schema-1 bundle."""
    meta = json.loads((layout / "bundler.json").read_text())
    meta["schemaVersion"] = 1
    for key in ("parts", "split", "base", "fromBase"):
        meta.pop(key, None)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))

        add("oci-layout", (layout / "oci-layout").read_bytes())
        add("index.json", (layout / "index.json").read_bytes())
        add("bundler.json", json.dumps(meta, indent=2).encode())
        for digest in [*meta["manifests"], *meta["bootstrapBlobs"], *meta["otherBlobs"]]:
            add(f"blobs/sha256/{digest.split(':')[1]}", (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())
    data = zstandard.ZstdCompressor(level=1, write_checksum=True).compress(raw.getvalue())
    pieces = [data[i:i + split] for i in range(0, len(data), split)] if split else [data]
    paths = [bundle.with_name(f"{bundle.name}.{i:03d}") for i in range(len(pieces))] if split else [bundle]
    for path, piece in zip(paths, pieces, strict=True):
        path.write_bytes(piece)
    bundle.with_name(bundle.name + ".sha256").write_text(
        "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in paths))
    return paths
