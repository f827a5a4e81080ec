"""The mirror seen by the source names of what it holds: the planners read catalogs and releases where an
import or mirror put them, so a delete plan is made inside the air gap from the mirror alone.

A source repository maps to ``PREFIX/<source path>`` (flattened by ``--max-nested-paths`` as at import), a
catalog to its ``targetCatalog``/``targetTag`` when the configuration gave one. Not reproduced: the host
directory import adds when two source registries share a path, and the hash suffix of colliding flattened
paths (both depend on the whole set imported); such images are reported as not in the mirror.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import NotFoundError
from ..mapping import flatten, split_target
from ..oci import Descriptor, Manifest, Reference, Repository
from ..registry import RegistryClient
from ..transport.base import SourceCaps


class MirrorView:
    caps = SourceCaps()

    def __init__(self, client: RegistryClient, registry: str, routes: dict[str, tuple[str, str | None]] | None = None,
                 max_nested: int = 0) -> None:
        self.client = client
        self.prefix = split_target(registry)[1]
        self.routes = dict(routes or {})
        self.max_nested = max_nested

    def path(self, name: str) -> str:
        """The mirror path (without host) of the source repository ``name``."""
        if name in self.routes:
            return self.routes[name][0]
        path = name.partition("/")[2]
        return flatten(f"{self.prefix}/{path}" if self.prefix else path, self.max_nested)

    def get_manifest(self, ref: Reference) -> Manifest:
        path = self.path(ref.name)
        tag = self.routes[ref.name][1] if ref.name in self.routes and self.routes[ref.name][1] else ref.tag
        if ref.digest:
            try:
                return self.client.get_manifest(path, ref.digest)
            except NotFoundError:
                if not tag:
                    raise
        return self.client.get_manifest(path, tag or "latest")

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        return self.client.iter_blob(self.path(str(repo)), desc.digest)
