"""Images in local OCI image layouts (``oci://PATH`` in a configuration: a catalog as opm writes it, an image
``skopeo copy`` wrote), seen through the same Source protocol as a registry.

Each layout is named by a reference the configuration gives it (``oci-layout.invalid/<repository>``: a
``.invalid`` host never resolves, so nothing mistakes it for a registry); :class:`RoutedSource` sends those
names to their layout and everything else to the upstream. The layout's image is the one ``@sha256:...``
names, else the only one its ``index.json`` lists. Every manifest and blob read is checked against its digest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import BundlerError, DigestMismatchError, NotFoundError
from ..oci import Descriptor, Manifest, Pinned, Reference, Repository
from ..oci.digest import verified
from ..oci.layout import REF_NAME, OCILayout
from .base import Source, SourceCaps


class LocalLayout:
    """One OCI image layout directory, read only, and the image in it a configuration names."""

    caps = SourceCaps()

    def __init__(self, path: Path, digest: str | None = None, where: str = "") -> None:
        self.path = path
        self.where = where or f"oci://{path}"
        self.layout = OCILayout(path, create=False)
        self.digest = digest or self._only_image()

    def _only_image(self) -> str:
        try:
            manifests = json.loads((self.path / "index.json").read_text()).get("manifests") or []
        except (OSError, ValueError, AttributeError) as exc:
            raise BundlerError(f"{self.where}: {self.path}/index.json cannot be read: {exc}") from exc
        if len(manifests) != 1:
            names = [str((m.get("annotations") or {}).get(REF_NAME) or m.get("digest")) for m in manifests]
            raise BundlerError(f"{self.where}: the OCI layout {self.path} holds {len(manifests)} images "
                               f"({', '.join(names)}); which one is meant?",
                               "name it by digest: oci://PATH@sha256:<digest of the one to carry>")
        return str(manifests[0]["digest"])

    def get_manifest(self, ref: Reference) -> Manifest:
        digest = ref.digest or self.digest
        if not self.layout.has_blob(digest):
            raise NotFoundError(f"{self.where}: manifest {digest} is not in the OCI layout {self.path}",
                                "the layout is incomplete: copy the image into it again")
        data = self.layout.read_blob(digest)
        m = Manifest.from_bytes(data)
        if m.digest != digest:
            raise DigestMismatchError(f"{self.where}: {self.path} blob {digest} is corrupt (hashed to {m.digest})")
        return m

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        if not self.layout.has_blob(desc.digest):
            raise NotFoundError(f"{self.where}: blob {desc.digest} is not in the OCI layout {self.path}",
                                "the layout is incomplete: copy the image into it again")

        def corrupt(actual: str) -> DigestMismatchError:
            return DigestMismatchError(f"{self.where}: {self.path} blob {desc.digest} is corrupt (hashed to {actual})")

        return verified(self.layout.iter_blob(desc.digest), desc.digest, corrupt)


class RoutedSource:
    """Names of local layouts go to their layout; everything else to the upstream."""

    caps = SourceCaps()

    def __init__(self, upstream: Source, layouts: Mapping[str, LocalLayout]) -> None:
        self.upstream = upstream
        self.layouts = dict(layouts)

    def get_manifest(self, ref: Reference) -> Manifest:
        layout = self.layouts.get(ref.name)
        return layout.get_manifest(ref) if layout is not None else self.upstream.get_manifest(ref)

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        layout = self.layouts.get(str(repo))
        return layout.open_blob(repo, desc) if layout is not None else self.upstream.open_blob(repo, desc)

    def referrers(self, ref: Pinned) -> list[Descriptor] | None:
        """The upstream's OCI 1.1 referrers of ``ref`` (None for a layout's image, or an upstream without the API)."""
        ask = None if ref.name in self.layouts else getattr(self.upstream, "referrers", None)
        found: list[Descriptor] | None = ask(ref) if ask is not None else None
        return found

    def tags(self, repo: Repository, max_pages: int | None = None) -> set[str] | None:
        """The upstream's tags of ``repo`` (None for a layout, or an upstream that does not list them)."""
        ask = None if str(repo) in self.layouts else getattr(self.upstream, "tags", None)
        found: set[str] | None = ask(repo, max_pages) if ask is not None else None
        return found
