"""The one Source and the one Destination protocol, and the capabilities a transport states.

A *target* is a repository path at the destination (``ocp4/openshift-release-dev/ocp-release``); a
layout or bundle destination has one blob store and ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from ..oci import Descriptor, Manifest, Reference, Repository


@dataclass(frozen=True)
class SourceCaps:
    sequential: bool = False
    """Blobs come only in the source's own order, once (a bundle read as a stream): the engine takes them
    from :meth:`SequentialSource.stream_blobs` instead of asking for each."""


@dataclass(frozen=True)
class DestinationCaps:
    mounts: bool = False
    """Can place a blob it already holds into another repository without the bytes."""
    reads_back: bool = False
    """Can give back a blob it received (a sequential source's blob for a repository that refused a mount)."""
    put_finds_present: bool = False
    """``put_blob`` finds out itself, in the same request, whether the target already holds the blob (and then
    sends nothing and returns False): the engine need not ask ``has_blob`` first."""
    checks_digests: bool = False
    """Refuses a blob whose bytes do not hash to its digest (a registry: uploads are committed with
    ``?digest=``, which the distribution spec makes it verify): a sequential source need not hash it too."""
    remote_lookups: bool = False
    """``has_manifest`` costs a request (a registry), and the destination holds a manifest only with all its
    blobs: the engine does not ask it for an image one of whose blobs it had to put there."""


class Source(Protocol):
    caps: SourceCaps

    def get_manifest(self, ref: Reference) -> Manifest:
        """The manifest ``ref`` names (by tag or digest); a digest reference is verified."""
        ...

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        """The blob's bytes, checked against ``desc.digest`` while they stream (an error at the end)."""
        ...


class BlobStream(NamedTuple):
    digest: str
    size: int
    chunks: Iterator[bytes]
    fill: Callable[[memoryview], None] | None = None
    """Instead of ``chunks``: read the whole blob into a buffer of its size, checked as ``chunks`` would be."""


@runtime_checkable
class SequentialSource(Source, Protocol):
    def stream_blobs(self, verify: bool = True) -> Iterator[BlobStream]:
        """Every blob in the source's order, each verified as it is read (unless the destination checks
        digests itself); consume each before the next."""
        ...


class Destination(Protocol):
    caps: DestinationCaps

    def has_blob(self, target: str, desc: Descriptor) -> bool: ...

    def put_blob(self, target: str, desc: Descriptor, chunks: Iterator[bytes]) -> bool | None:
        """Store the blob; it must be consumed to its end (where the digest is checked). False (only with
        ``caps.put_finds_present``): the target held it already and ``chunks`` were not read to their end."""
        ...

    def mount_blob(self, target: str, desc: Descriptor, from_target: str) -> bool:
        """True when the destination placed the blob from ``from_target``; False to send the bytes."""
        ...

    def read_blob(self, target: str, desc: Descriptor) -> Iterator[bytes]:
        """A blob this destination holds (only with ``caps.reads_back``)."""
        ...

    def has_manifest(self, target: str, manifest: Manifest, tag: str | None) -> bool: ...

    def put_manifest(self, target: str, manifest: Manifest, tag: str | None) -> None:
        """Store the manifest byte-exact under ``tag`` (or by its digest when None)."""
        ...

    def commit(self) -> None:
        """Everything was written: make it durable and whole (a bundle packs; a registry has nothing to do)."""
        ...
