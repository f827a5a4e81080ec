"""A bundle read as a sequential source: its metadata and every manifest come from the front of the
archive; blobs follow in archive order, each verified as it streams (and every part at its end)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors import BundleError
from ..oci import Descriptor, Manifest, Reference, Repository, sha256_digest
from ..oci.digest import verified
from ..transport.base import BlobStream, SourceCaps
from .archive import HINT, ArchiveReader, Entry
from .metadata import FRONT_FILES, METADATA_FILE, BundleMetadata

CHUNK = 1 << 20


class BundleSource:
    caps = SourceCaps(sequential=True)

    def __init__(self, reader: ArchiveReader) -> None:
        self.reader = reader
        self.metadata = BundleMetadata.from_bytes(reader.front[METADATA_FILE], str(reader.bundle))
        self.manifests: dict[str, Manifest] = {}
        self.blobs_read = 0
        self.bytes_streamed = 0
        self._entries: Iterator[Entry] = reader.entries()
        self._pushback: Entry | None = None
        self._load_manifests()

    @classmethod
    def open(cls, bundle: str | Path) -> BundleSource:
        return cls(ArchiveReader(bundle, FRONT_FILES))

    @property
    def listed(self) -> set[str] | None:
        """The blobs the front says the archive holds (schema 2: anything else is refused)."""
        return self.metadata.carried if self.metadata.schema_version >= 2 else None

    def _next_entry(self) -> Entry | None:
        if self._pushback is not None:
            entry, self._pushback = self._pushback, None
            return entry
        return next(self._entries, None)

    def _load_manifests(self) -> None:
        """The manifests stored first among the blobs: read them all before anything else streams."""
        wanted = set(self.metadata.manifests)
        while wanted:
            entry = self._next_entry()
            if entry is None or entry.digest not in wanted:
                self._pushback = entry
                break
            data = entry.fileobj.read()
            if sha256_digest(data) != entry.digest:
                raise BundleError(f"manifest {entry.digest} in the bundle is corrupt ({self.reader.bundle})")
            self.manifests[entry.digest] = Manifest.from_bytes(data)
            wanted.discard(entry.digest)

    def get_manifest(self, ref: Reference) -> Manifest:
        try:
            return self.manifests[ref.digest or ""]
        except KeyError:
            raise BundleError(f"manifest {ref.digest} of {ref} is not in the bundle") from None

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        raise BundleError(f"blob {desc.digest} was already streamed past (a bundle is read once, in order)")

    def stream_blobs(self, verify: bool = True) -> Iterator[BlobStream]:
        """Every blob in archive order; ``verify=False`` leaves the digest check to a destination that makes
        it (a registry); every part's sha256 is checked either way."""
        listed = self.listed
        while (entry := self._next_entry()) is not None:
            if entry.digest:
                if listed is not None and entry.digest not in listed:
                    raise BundleError(f"blob {entry.digest} in bundle part {self.reader.current_part} is not one the "
                                      "bundle's front lists: the bundle was altered",
                                      "take the bundle from the original media")
                self.blobs_read += 1
                self.bytes_streamed += entry.size
                chunks = self._verified(entry.fileobj, entry.digest) if verify else _chunks(entry.fileobj)
                yield BlobStream(entry.digest, entry.size, chunks, self._filler(entry, entry.digest, verify))

    def _corrupt(self, digest: str, start: int) -> Callable[[str], BundleError]:
        def corrupt(actual: str) -> BundleError:
            where = self.reader.parts_between(start, self.reader.bytes_read)
            return BundleError(f"blob {digest} read from bundle part {where} is corrupt (hashed to {actual}); "
                               "nothing of it was stored",
                               "copy the part again from the original media, then run `bundler verify`")

        return corrupt

    def _verified(self, fh: io.RawIOBase, digest: str) -> Iterator[bytes]:
        return verified(iter(lambda: fh.read(CHUNK), b""), digest, self._corrupt(digest, self.reader.bytes_read))

    def _filler(self, entry: Entry, digest: str, verify: bool) -> Callable[[memoryview], None]:
        """Reads the blob straight into the caller's buffer (one copy, from the file)."""
        def fill(view: memoryview) -> None:
            start, got = self.reader.bytes_read, 0
            while got < entry.size:
                n = entry.fileobj.readinto(view[got:entry.size])
                if not n:
                    raise BundleError(f"blob {digest} ends after {got} of its {entry.size} bytes "
                                      f"(bundle part {self.reader.current_part})", HINT)
                got += n
            if verify and (actual := sha256_digest(view[:got])) != digest:
                raise self._corrupt(digest, start)(actual)

        return fill

    def prefix(self, digests: Iterable[str]) -> BundlePrefix:
        """The stream up to the last of ``digests`` (the bootstrap images at the front), leaving the rest
        for a later reader of this same source."""
        return BundlePrefix(self, set(digests))

    def close(self) -> None:
        self.reader.close()


class BundlePrefix:
    """A sequential view of a bundle source that ends once every wanted blob went by."""

    caps = SourceCaps(sequential=True)

    def __init__(self, source: BundleSource, digests: set[str]) -> None:
        self.source = source
        self.digests = digests

    def get_manifest(self, ref: Reference) -> Manifest:
        return self.source.get_manifest(ref)

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        return self.source.open_blob(repo, desc)

    def stream_blobs(self, verify: bool = True) -> Iterator[BlobStream]:
        left = set(self.digests)
        if not left:
            return
        for blob in self.source.stream_blobs(verify):
            yield blob  # consumed by the caller before it asks for the next one
            left.discard(blob.digest)
            if not left:
                return


def _chunks(fh: io.RawIOBase) -> Iterator[bytes]:
    return iter(lambda: fh.read(CHUNK), b"")
