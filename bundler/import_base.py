"""Importing a differential bundle: the base content must already be in the target registry.

Before anything is pushed, every manifest and blob the bundle does not carry is looked for (HEAD) where
its base put it; one missing refuses the import, naming it. Then manifests the bundle does not carry are
read back from the mirror (byte-exact, by digest), blobs the base put in another repository are mounted
(or copied inside the registry), and the bundle's own content streams in as for a full bundle: the mirror
ends up exactly as a full bundle would leave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from .bundle import BundleSource
from .bundle.diff import MIRROR, SOURCE
from .bundle.metadata import BundleMetadata
from .engine import BlobNeed, CopyEngine, CopyResult, Resolution
from .errors import BundleError
from .mapping import mirror_repositories, split_target
from .oci import Descriptor, Manifest, Reference, Repository
from .registry import RegistryClient
from .transport.base import SourceCaps
from .transport.registry import RegistryDestination


class BaseLocations:
    """Where, in the target registry, the base put each digest the bundle does not carry."""

    def __init__(self, meta: BundleMetadata, registry: str) -> None:
        self.host, _ = split_target(registry)
        base = meta.base or {}
        if base.get("registry") and split_target(str(base["registry"]))[0] != self.host:
            raise BundleError(f"this differential bundle was made against the inventory of {base['registry']} "
                              f"({base.get('name')}), not of {self.host}",
                              f"import it into {base['registry']}, or export a differential against an inventory "
                              f"of {self.host} (`bundler inventory --registry {self.host}`)")
        kinds = meta.from_base
        self.manifests = {d: self._path(loc, meta, registry) for d, loc in kinds.get("manifests", {}).items()}
        self.blobs = {d: self._path(loc, meta, registry) for d, loc in kinds.get("blobs", {}).items()}

    def _path(self, location: str, meta: BundleMetadata, registry: str) -> str:
        if location.startswith(MIRROR):
            return location[len(MIRROR):]
        name = location[len(SOURCE):] if location.startswith(SOURCE) else location
        names = sorted({img.source.name for img in meta.images} | {name})
        return mirror_repositories(names, registry)[name][len(self.host) + 1:]

    def check(self, client: RegistryClient, workers: int) -> int:
        """HEAD everything the base must hold; refuse naming what is missing. Returns how many were found."""
        def present(item: tuple[str, str, bool]) -> bool:
            digest, repo, is_manifest = item
            if is_manifest:
                return client.head_manifest(repo, digest) == digest
            return client.has_blob(repo, digest)

        items = [(d, r, True) for d, r in self.manifests.items()] + [(d, r, False) for d, r in self.blobs.items()]
        with ThreadPoolExecutor(max(1, workers)) as pool:
            missing = [item for item, ok in zip(items, pool.map(present, items), strict=True) if not ok]
        if missing:
            shown = "; ".join(f"{'manifest' if m else 'blob'} {d} in {self.host}/{r}" for d, r, m in missing[:5])
            raise BundleError(f"the registry lacks {len(missing)} of the {len(items)} manifests and blobs this "
                              f"differential bundle leaves to its base: {shown}" + (" ..." if len(missing) > 5 else ""),
                              "import the base bundle (see `bundler inspect`) into this registry first; nothing "
                              "was pushed")
        return len(items)


class MirrorManifests:
    """The bundle's manifests, else the base's, read back from the mirror by digest (a sequential source
    for the engine: blobs still come only from the bundle stream)."""

    caps = SourceCaps(sequential=True)

    def __init__(self, source: BundleSource, client: RegistryClient, where: BaseLocations) -> None:
        self.source = source
        self.client = client
        self.where = where

    def get_manifest(self, ref: Reference) -> Manifest:
        digest = ref.digest or ""
        if digest in self.source.manifests or digest not in self.where.manifests:
            return self.source.get_manifest(ref)
        return self.client.get_manifest(self.where.manifests[digest], digest)

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        return self.source.open_blob(repo, desc)

    def stream_blobs(self, verify: bool = True) -> Iterator:  # type: ignore[type-arg]
        return self.source.stream_blobs(verify)


class MirrorBlobs:
    """Blobs already in the mirror, read from where they are (for a registry that refuses a mount)."""

    caps = SourceCaps()

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def get_manifest(self, ref: Reference) -> Manifest:
        raise BundleError(f"manifest {ref} is not read from the mirror here")

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        return self.client.iter_blob(repo.path, desc.digest)


def place_base_blobs(res: Resolution, where: BaseLocations, client: RegistryClient, workers: int) -> CopyResult:
    """Take the base's blobs out of ``res`` and put each into every target repository that lacks it:
    the repository the base put it in comes first (it is there: skipped), the others mount from it."""
    needs: dict[str, BlobNeed] = {}
    for digest in [d for d in res.needs if d in where.blobs]:
        need = res.needs.pop(digest)
        repo = where.blobs[digest]
        needs[digest] = BlobNeed(need.desc, Repository(where.host, repo), [repo, *(t for t in need.targets if t != repo)])
    engine = CopyEngine(MirrorBlobs(client), RegistryDestination(client), workers)
    return engine.run(Resolution([], needs=needs))
