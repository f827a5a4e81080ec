"""Sigstore signatures of every carried image, carried and pushed byte-exact (a re-serialized signature
manifest is no longer a signature, and Quay refuses it).

Two places hold them upstream: cosign's tag ``<repo>:sha256-<hex>.sig`` (one manifest whose layers are the
signatures), and the OCI 1.1 referrers of the image's digest (manifests whose ``subject`` is the image),
listed by the registry's referrers API or, on registries without it, by the index tagged ``sha256-<hex>``
(the distribution-spec's tag schema fallback). Each one found is planned as a ``sigstore`` image in the
image's repository: the ``.sig`` under its tag, each referrer by its digest (a registry with the referrers
API indexes it by its ``subject`` when it is pushed).

Most images have neither, so most lookups are answered 404. Where a repository holds several of the planned
images, its tag list is read first (one request, or a page per four images at most): only the tags it
lists are asked for. A longer list, or a registry that does not list tags, and the images are asked for one
by one, as before: at worst one request more for every four images (one in all for two or three), against
two requests an image saved when the list is read.

A release image without any: a warning, or an error with ``--require-sigstore``. Images bundler built
(pruned catalogs, the graph image) have no upstream signatures and are not looked up.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor, ThreadPoolExecutor

from ..errors import BundlerError, NotFoundError
from ..oci import Descriptor, Pinned, Repository
from ..plan import PlanContext, PlannedImage
from .base import ContentKind

NAME = "sigstore"
KIND_NAME = "sigstore"
_SKIP = ("bootstrap", KIND_NAME, "graph-image")
LISTED_FROM = 2
"""Planned images in one repository from which its tag list is read rather than each image's tags asked for."""
PAGES_PER_IMAGE = 0.25
"""The most pages of tag list read per image of the repository: past that, asking for each image is cheaper."""


def cosign_tag(digest: str) -> str:
    """cosign's signature tag of an image digest: ``sha256-<hex>.sig``."""
    return digest.replace(":", "-") + ".sig"


def fallback_tag(digest: str) -> str:
    """The referrers tag schema's tag of a subject digest: ``sha256-<hex>``."""
    return digest.replace(":", "-")


def plan(ctx: PlanContext) -> None:
    images = [img for img in list(ctx.plan.images) if img.kind not in _SKIP and not img.rebuilt_from]
    with ThreadPoolExecutor(ctx.workers) as pool:
        tags = _listed_tags(ctx, images, pool)
        results = list(pool.map(lambda img: _signatures(ctx, img, tags.get(img.pinned.repo)), images))
    _warn_failures(ctx, images, [error for _, error in results])
    unsigned = [img for img, (count, _) in zip(images, results, strict=True) if img.kind == "release" and not count]
    for img in unsigned:
        message = f"release image {img.pinned} has no sigstore signature (no {cosign_tag(img.digest)} tag, no referrer)"
        if ctx.release.require_sigstore:
            raise BundlerError(message, "drop --require-sigstore to carry it with its GPG release signatures only")
        ctx.plan.warnings.append(message)


def _warn_failures(ctx: PlanContext, images: list[PlannedImage], errors: list[str | None]) -> None:
    """One warning per registry whose lookups failed (a registry that answers 401 for every missing tag
    would otherwise warn once per image)."""
    by_host: dict[str, list[str]] = {}
    for img, error in zip(images, errors, strict=True):
        if error is not None:
            by_host.setdefault(img.source.registry, []).append(error)
    for host, found in sorted(by_host.items()):
        ctx.plan.warnings.append(f"sigstore signatures at {host} could not be looked up for {len(found)} image(s), "
                                 f"so they are not carried; first: {found[0]}")


def _listed_tags(ctx: PlanContext, images: list[PlannedImage], pool: Executor) -> dict[Repository, set[str] | None]:
    """The tags of each repository holding :data:`LISTED_FROM` planned images or more, where the registry
    lists them within :data:`PAGES_PER_IMAGE` pages an image (None where it does not: ask image by image)."""
    ask = getattr(ctx.source, "tags", None)
    counts = Counter(img.pinned.repo for img in images)
    repos = [repo for repo, n in counts.items() if n >= LISTED_FROM] if ask is not None else []

    def listed(repo: Repository) -> set[str] | None:
        assert ask is not None
        try:
            found: set[str] | None = ask(repo, max(1, int(counts[repo] * PAGES_PER_IMAGE)))
        except BundlerError:
            return None             # refused or broken: the per-image lookups say what is wrong, if anything
        return found

    return dict(zip(repos, pool.map(listed, repos), strict=True))


def _signatures(ctx: PlanContext, img: PlannedImage, tags: set[str] | None) -> tuple[int, str | None]:
    """Plan the image's cosign signature and referrers: how many were found, and the first lookup error.
    ``tags``: its repository's tags when they were listed (a tag not among them is not asked for)."""
    subject = img.pinned
    count = 0
    error: str | None = None
    try:
        if tags is None or cosign_tag(img.digest) in tags:
            ctx.pin(KIND_NAME, subject.repo.tagged(cosign_tag(img.digest)),
                    label=f"signature of {img.label or subject}")
            count += 1
    except NotFoundError:
        pass
    except BundlerError as exc:
        error = f"{subject}: {exc}"
    try:
        for desc in _referrers(ctx, subject, tags):
            ctx.pin(KIND_NAME, subject.repo.pinned(desc.digest), label=f"referrer of {img.label or subject}")
            count += 1
    except BundlerError as exc:
        error = error or f"referrers of {subject}: {exc}"
    return count, error


def _referrers(ctx: PlanContext, subject: Pinned, tags: set[str] | None) -> list[Descriptor]:
    ask = getattr(ctx.source, "referrers", None)
    listed: list[Descriptor] | None = ask(subject) if ask is not None else None
    if listed is None:
        assert subject.digest is not None
        listed = [] if tags is not None and fallback_tag(subject.digest) not in tags else _tag_schema(ctx, subject)
    return [d for d in listed if d.digest != subject.digest]


def _tag_schema(ctx: PlanContext, subject: Pinned) -> list[Descriptor]:
    """The ``sha256-<hex>`` index of a registry without the referrers API. The same tag may be bundler's own
    name for a digest-only image in a mirror (then it is the image itself, not an index): ignored."""
    assert subject.digest is not None
    try:
        index = ctx.source.get_manifest(subject.repo.tagged(fallback_tag(subject.digest)))
    except NotFoundError:
        return []
    if not index.is_list or index.digest == subject.digest:
        return []
    return index.children


KIND = ContentKind(NAME, plan)
