"""Sparse manifest lists: a multi-platform image carried for some of its platforms only, the list itself
kept byte-exact so its digest (what releases and catalogs reference) does not change (oc-mirror's
``platforms:``, containers/image ``CopySpecificImages``).

Registries differ on whether they store a list whose children are not all present, checked for real:
Docker Distribution 2.8 refuses it (``MANIFEST_BLOB_UNKNOWN``: it checks every child of a list on push, with no
setting to turn that off; Distribution 3 has ``validation.manifests.indexes.platforms: none``, which oc-mirror
recommends); Project Quay 3.12 refuses it too (it loads every child to store the list; its source has no sparse
setting). bundler then pushes the selected children (usable by digest) and fails the list by reference with
that explanation: the list cannot exist under its digest without its children, and another digest would break
every reference to it. docs/usage.md ("Platforms") says what to do.
"""

from __future__ import annotations

from ..errors import BundlerError
from ..oci import Descriptor, Manifest


def platform_matches(desc: Descriptor, wanted: tuple[str, ...]) -> bool:
    """``os/architecture`` of the child is one of ``wanted`` (a variant such as arm64/v8 is not compared)."""
    p = desc.platform
    return p is not None and f"{p.os}/{p.architecture}" in wanted


def selected_children(top: Manifest, wanted: tuple[str, ...], where: str) -> list[Descriptor]:
    """The children of ``top`` for the wanted platforms (all of an image: none); an error naming what the
    list has when none of the wanted platforms is in it."""
    if not top.is_list:
        return []
    kept = [c for c in top.children if platform_matches(c, wanted)]
    if not kept:
        have = sorted({str(c.platform) for c in top.children if c.platform is not None})
        raise BundlerError(f"{where}: none of the platforms {', '.join(wanted)} is in this manifest list",
                           f"it has: {', '.join(have) or 'no platform entries'}; fix the platforms: list")
    return kept


def is_sparse(top: Manifest, tree: list[Manifest]) -> bool:
    """A list carried without some of its children."""
    return top.is_list and len(tree) - 1 < len(top.children)


def refused_sparse(exc: BundlerError, where: str, kept: int, total: int) -> BundlerError:
    """The error for a registry that would not store a sparse list."""
    return BundlerError(
        f"{where}: the registry refused the manifest list carried for {kept} of its {total} platforms "
        f"(a sparse list): {exc.message}",
        "Docker Distribution 2.x and Quay 3.12 never accept one; Distribution 3 does with "
        "validation.manifests.indexes.platforms: none. The selected platforms' images were pushed and work by "
        "digest; to have the list itself, carry every platform (remove platforms:) or use a registry that accepts "
        "sparse lists",
    )
