"""Writing a schema-2 bundle: data parts while the pull runs (resuming an interrupted run from its
journal), then at commit the front, parity parts, ``BUNDLE.sha256`` and the signature.

Nothing marks a bundle complete but its front, written after every data part; a run that starts removes
the front, checksums, signature and parity parts of an earlier run first, so a path never shows a bundle
whose parts are being rewritten.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import disk_error
from ..oci.layout import json_bytes
from . import names
from .dataparts import DataParts, PartInfo
from .disk_stage import DiskStage
from .front import FrontFile, write_front
from .journal import Journal, JournalEntry, load
from .metadata import BundleMetadata
from .sink import BlobSink


@dataclass
class Finish:
    """What commit adds after the front: parity (percent of the parts, 0 for none) and a signature."""

    parity_percent: float = 0.0
    sign: Callable[[Path, list[tuple[Path, str]], BundleMetadata, FrontFile], Path] | None = None
    on_parity: Callable[[int], object] | None = None


@dataclass
class Committed:
    front: FrontFile
    parts: list[PartInfo]
    parity: list[PartInfo] = field(default_factory=list)
    signature: Path | None = None

    @property
    def files(self) -> list[Path]:
        return [p.path for p in self.parts] + [p.path for p in self.parity]


def usable(entries: list[JournalEntry], on_disk: int, first: set[str]) -> list[JournalEntry]:
    """The journaled blobs a resumed run keeps: those the parts on disk hold, and when a blob that must
    come first (a bootstrap image's) is not among them, only what precedes the first other blob."""
    kept = [e for e in entries if e.end <= on_disk]
    if first - {e.digest for e in kept}:
        cut = next((i for i, e in enumerate(kept) if e.digest not in first), len(kept))
        kept = kept[:cut]
    return kept


def remove_finished_files(bundle: Path) -> None:
    """The files that make a bundle whole, from an earlier run: gone before its parts change."""
    for path in [bundle, names.checksum_path(bundle), names.signature_path(bundle), *names.existing_parity_parts(bundle)]:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise disk_error(exc, "the bundle", path) from exc


def resumable(bundle: Path, split: int | None, level: int, first: set[str]) -> list[JournalEntry]:
    """What an earlier run of the same export left that a new one keeps (nothing is changed on disk)."""
    entries = load(names.journal_path(bundle), {"schema": 2, "split": split, "level": level})
    return usable(entries, _contiguous_bytes(bundle, split), first) if entries else []


class BundleWriter:
    def __init__(self, bundle: Path, split: int | None, level: int = 1, first: set[str] | None = None) -> None:
        self.bundle = bundle
        self.split = split
        self.level = level
        settings = {"schema": 2, "split": split, "level": level}
        journal_file = names.journal_path(bundle)
        kept = resumable(bundle, split, level, first or set())
        remove_finished_files(bundle)
        shutil.rmtree(names.spool_dir(bundle), ignore_errors=True)  # what an older bundler spooled
        self.parts = DataParts(bundle, split)
        self.parts.cut(kept[-1].end if kept else 0)
        self.journal = Journal(journal_file, settings, kept)
        self.kept = kept
        self.order: list[tuple[str, int]] = [(e.digest, e.size) for e in kept]
        self.held: set[str] = {e.digest for e in kept}
        self.resumed = sum(e.size for e in kept)
        self.disk = DiskStage(self.parts, self.journal)
        self.sink = BlobSink(self.disk, level, on_written=self._written)

    def _written(self, digest: str, size: int) -> None:
        self.held.add(digest)

    def has_blob(self, digest: str) -> bool:
        return digest in self.held

    def put_blob(self, digest: str, size: int, chunks: Iterator[bytes]) -> None:
        self.sink.put(digest, size, chunks)

    def drain(self) -> None:
        """Every blob handed in so far has its place before any handed in later (places are given in
        order): only a failure is reported here."""
        self.sink.check()

    def close_data(self) -> list[PartInfo]:
        try:
            self.disk.close()
        finally:
            self.parts.close()
        self.order = [(e.digest, e.size) for e in [*self.kept, *self.disk.written]]
        return self.parts.finish()

    def commit(self, meta: BundleMetadata, index: bytes, manifests: list[tuple[str, bytes]],
               bootstrap: set[str], finish: Finish) -> Committed:
        parts = self.close_data()
        meta.parts = [p.to_json() for p in parts]
        meta.split = self.split
        meta.bootstrap_blobs = [d for d, _ in self.order if d in bootstrap]
        meta.other_blobs = [d for d, _ in self.order if d not in bootstrap]
        meta.blobs, meta.blob_bytes = len(self.order), sum(s for _, s in self.order)
        front = write_front(self.bundle, index, json_bytes(meta.to_json()), manifests)
        done = Committed(front, parts)
        if finish.parity_percent > 0:
            from .parity import write_parity

            done.parity = write_parity(self.bundle, [self.bundle, *(p.path for p in parts)], finish.parity_percent,
                                       finish.on_parity)
        sums = [(self.bundle, front.sha256), *((p.path, p.sha256) for p in [*parts, *done.parity])]
        _write_checksums(self.bundle, sums)
        if finish.sign is not None:
            done.signature = finish.sign(self.bundle, sums, meta, front)
        self.journal.remove()
        return done

    def abort(self, exc: BaseException) -> None:
        """Stop writing; what is journaled stays for a re-run."""
        self.sink.abort(exc)
        self.disk.abort()
        self.parts.close()
        self.journal.close()


def _contiguous_bytes(bundle: Path, split: int | None) -> int:
    """Bytes of data parts on disk that can continue a stream: full parts, then the part after them."""
    total = 0
    for i, path in enumerate(names.existing_data_parts(bundle)):
        if path != names.data_part(bundle, i):
            break
        size = path.stat().st_size
        total += size
        if split is None or size != split:
            break
    return total


def _write_checksums(bundle: Path, sums: list[tuple[Path, str]]) -> None:
    path = names.checksum_path(bundle)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text("".join(f"{digest}  {p.name}\n" for p, digest in sums))
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_error(exc, "the checksum file", path) from exc
