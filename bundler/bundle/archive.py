"""Reading a bundle: tar+zstd read once, in order, so an importer streams it once.

Schema 2: the front file ``BUNDLE`` (metadata, then every manifest) is read first; its metadata names the
data parts and their sha256, which then stream as the same tar continued. A lost front or data part is
read through its reconstruction from parity (:mod:`.parity`) when there is enough of it. Schema 1 (one
stream over ``BUNDLE`` or ``BUNDLE.000 ...``) is read as before. ``BUNDLE.sha256`` is checked against what
the front says; every part is checked when its end is reached.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zstandard

from ..errors import BundleError
from . import names
from .dataparts import hash_file
from .frames import ZstdFrames
from .metadata import METADATA_FILE, BundleMetadata
from .parity import ParitySet, Resilient
from .parts import Opener, PartReader, find_parts, read_checksums
from .tarread import Member, TarReader

STREAM_ERRORS = (tarfile.TarError, zstandard.ZstdError, EOFError, OSError)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_AHEAD = 8 << 10  # small: reads of a stored block's 128 KiB go past the buffer, straight to their place
READ_LAG = (128 << 10) + 3  # one block of a compressed frame: what is handed out lags what was read
HINT = "copy the part again from the original media, then run `bundler verify`"


@dataclass
class Entry:
    """One file of the archive, readable once, in order."""

    name: str
    size: int
    fileobj: io.RawIOBase

    @property
    def digest(self) -> str | None:
        m = re.match(r"^blobs/sha256/([0-9a-f]{64})$", self.name)
        return f"sha256:{m.group(1)}" if m else None


class _TarStream:
    """One tar+zstd stream over files read back to back."""

    def __init__(self, owner: ArchiveReader, parts: list[tuple[Path, str | None]], opener: Opener | None) -> None:
        self.owner = owner
        self.parts = parts
        self.reader = PartReader(parts, opener)
        # Modest read-ahead, so damage is found near the blob it hits and that blob can be named.
        self.zr = ZstdFrames(io.BufferedReader(self.reader, READ_AHEAD))
        self.tar = TarReader(self.zr.read, self.zr.readinto)
        self.first = True

    def next(self) -> Member | None:
        try:
            member = self.tar.next()
        except tarfile.HeaderError as exc:
            if self.first:
                raise BundleError(f"{self.owner.bundle} is not a bundle (not a tar stream: {exc})") from exc
            raise self.owner.corrupt(exc, self) from exc
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.owner.corrupt(exc, self) from exc
        self.first = False
        return member

    def drain(self) -> None:
        """Read to the end, so the last part's checksum is checked."""
        try:
            while self.zr.read(1 << 20):
                pass
            while self.reader.read(1 << 20):
                pass
        except (zstandard.ZstdError, OSError) as exc:
            raise BundleError(f"bundle is corrupt at its end ({self.reader.current.name}): {exc}", HINT) from exc


class ArchiveReader:
    """The front read at once (``front``: every file before the first blob), then blobs one by one.
    ``front_only`` reads the front file and nothing else (its parts may be somewhere else)."""

    def __init__(self, bundle: str | Path, required: tuple[str, ...] = (), front_only: bool = False) -> None:
        self.bundle = Path(bundle)
        self.required = required
        self.sums = read_checksums(self.bundle)
        self.parity = ParitySet.load(self.bundle)
        self.rebuilt: list[str] = []
        self.current_member: str | None = None
        self.front: dict[str, bytes] = {}
        self.front_sha256: str | None = None
        self._pending: Member | None = None
        self._data: _TarStream | None = None
        self._active: _TarStream
        if self.bundle.is_file() or (self.parity is not None and self.parity.index_of(self.bundle.name) == 0):
            self._open_front(front_only)
        else:
            self.schema = 1
            self.parts = find_parts(self.bundle)
            self._check_magic(self.parts[0][0])
            self._active = _TarStream(self, self.parts, None)
        self._front = self._active
        self._read_front()
        if self.schema >= 2 and not front_only:
            self._open_data()

    # -- opening --------------------------------------------------------------------------------
    def _check_magic(self, path: Path, fh: IO[bytes] | None = None) -> None:
        head = fh.read(4) if fh is not None else path.open("rb").read(4)
        if head != ZSTD_MAGIC:
            raise BundleError(f"{self.bundle} is not a bundle (not a zstd stream)",
                              "give the path of a bundle written by `bundler export`")

    def _opener(self, path: Path) -> io.RawIOBase | io.BufferedReader:
        """A part as a stream: the file, or its reconstruction from parity when it is lost."""
        parity = self.parity
        index = parity.index_of(path.name) if parity is not None else None
        if parity is not None and index is not None and index in parity.lost():
            self.rebuilt.append(path.name)
            return parity.rebuild_stream(index, parity.lost())
        if parity is not None and index is not None:  # an I/O error mid-part: the rest from parity
            return Resilient(path, parity, index, lambda: self.rebuilt.append(path.name))
        return open(path, "rb")

    def _open_front(self, front_only: bool) -> None:
        expected = self.sums.get(self.bundle.name)
        fh = self._opener(self.bundle)
        try:
            self._check_magic(self.bundle, fh)  # type: ignore[arg-type]
        finally:
            fh.close()
        if self.bundle.name in self.rebuilt:
            self.rebuilt.remove(self.bundle.name)
        self.schema = 2  # until the metadata says otherwise
        self.parts = [(self.bundle, expected)]
        self._active = _TarStream(self, self.parts, self._opener)

    def _open_data(self) -> None:
        meta = BundleMetadata.from_bytes(self.front[METADATA_FILE], str(self.bundle))
        if self.bundle.is_file():
            self.front_sha256 = hash_file(self.bundle)
        elif self.parity is not None:
            self.front_sha256 = self.parity.layout.shards[0].sha256
        data: list[tuple[Path, str | None]] = []
        for p in meta.parts:
            name, digest = str(p["name"]), str(p["sha256"])
            listed = self.sums.get(name)
            if listed is not None and listed != digest:
                raise BundleError(f"{names.checksum_path(self.bundle).name} says part {name} has sha256 {listed}, "
                                  f"but the bundle's front says {digest}",
                                  "the checksum file was altered or belongs to another bundle: take it from the "
                                  "original media")
            data.append((self.bundle.with_name(name), digest))
        lost = [p.name for p, _ in data if not p.is_file() or p.stat().st_size != _size(meta, p.name)]
        if lost and (self.parity is None or len(self.parity.lost()) > len(self.parity.present)):
            if self.parity is not None:
                self.parity.check(self.parity.lost())  # raises, naming every lost part
            raise BundleError(f"bundle part {lost[0]} is missing or incomplete ({len(lost)} of {len(data)} data "
                              f"parts: {', '.join(lost)})", "copy every part listed in "
                              f"{names.checksum_path(self.bundle).name} next to the bundle")
        self.parts = [*self.parts, *data]
        self._data = _TarStream(self, data, self._opener) if data else None

    # -- reading --------------------------------------------------------------------------------
    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size if p.is_file() else 0 for p, _ in self.parts)

    @property
    def bytes_read(self) -> int:
        """How far into the files (front, then data parts) the data handed out so far came from."""
        return self._front.zr.consumed + (self._data.zr.consumed if self._data is not None else 0)

    @property
    def current_part(self) -> str:
        return self._active.reader.current.name

    def parts_between(self, start: int, end: int) -> str:
        """The part(s) that bytes read between two ``bytes_read`` marks can have come from: decoding runs
        up to READ_LAG compressed bytes ahead of the data it hands out."""
        found: list[str] = []
        offset = 0
        for path, _ in self.parts:
            size = path.stat().st_size if path.is_file() else 0
            if offset + size > max(0, start - READ_LAG) and offset <= end:
                found.append(path.name)
            offset += size
        return found[0] if len(found) == 1 else f"{found[0]} .. {found[-1]}" if found else self.current_part

    def corrupt(self, exc: BaseException, stream: _TarStream | None = None) -> BundleError:
        """The error for a stream that broke while reading the current part (and blob)."""
        if isinstance(exc, BundleError):
            message = exc.message
        else:  # the part the damaged bytes were read from (not the one read ahead)
            where = self.parts_between(self.bytes_read, self.bytes_read)
            message = f"bundle is truncated or corrupt in part {where}: {exc}"
        blob = (self.current_member or "").rpartition("/")[2]
        if blob and "while reading blob" not in message:
            message += f" (while reading blob sha256:{blob})"
        return BundleError(message, HINT)

    def _read_front(self) -> None:
        while True:
            member = self._active.next()
            if member is None or member.name.startswith("blobs/"):
                self._pending = member
                break
            self.front[member.name] = self._active.tar.data().read()
        for name in self.required:
            if name not in self.front:
                raise BundleError(f"{self.bundle} is not a bundle: it has no {name}")
        if METADATA_FILE in self.front and self.schema == 2:
            self.schema = BundleMetadata.from_bytes(self.front[METADATA_FILE], str(self.bundle)).schema_version
            if self.schema < 2:  # a schema-1 bundle in one file: the front file is the whole stream
                self.parts = [(self.bundle, self.sums.get(self.bundle.name))]

    def _members(self) -> Iterator[tuple[_TarStream, Member]]:
        member = self._pending
        while member is not None:
            yield self._active, member
            self.current_member = None  # damage from here on is in the next header, not this blob
            member = self._active.next()
        self._active.drain()
        if self._data is not None:
            self._active = self._data
            while (member := self._data.next()) is not None:
                yield self._data, member
                self.current_member = None
            self._data.drain()

    def entries(self) -> Iterator[Entry]:
        """Every blob in archive order; each entry must be consumed before the next is asked for."""
        for stream, member in self._members():
            if member.isfile():
                self.current_member = member.name
                yield Entry(member.name, member.size, _Guarded(stream.tar.data(), self))
        self.current_member = None

    def close(self) -> None:
        self._front.reader.close()
        if self._data is not None:
            self._data.reader.close()


def _size(meta: BundleMetadata, name: str) -> int:
    return next(int(p["size"]) for p in meta.parts if p["name"] == name)


class _Guarded(io.RawIOBase):
    """A tar member reader that turns stream failures into BundleErrors naming the part."""

    def __init__(self, fh: io.RawIOBase, owner: ArchiveReader) -> None:
        super().__init__()
        self.fh = fh
        self.owner = owner

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            return self.fh.read(n)
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.owner.corrupt(exc) from exc

    def readinto(self, b: Any) -> int:
        try:
            return self.fh.readinto(b)
        except (BundleError, *STREAM_ERRORS) as exc:
            raise self.owner.corrupt(exc) from exc
