"""Typed settings of an oc-mirror ImageSetConfiguration / DeleteImageSetConfiguration, as planners read
them. Field names follow oc-mirror's (``internal/pkg/api/v2alpha1/type_config.go``) in snake case; the
semantics of each are in /work/notes/config.md and docs/usage.md.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..oci.reference import Reference

# The registry part of the name a catalog or image from a local OCI layout (``oci://PATH``) is carried
# under. ``.invalid`` never resolves (RFC 2606), so nothing ever contacts it; the import drops the host of
# every source as usual, so the image lands at TARGET/<targetCatalog or the layout directory's name>.
LAYOUT_REGISTRY = "oci-layout.invalid"


@dataclass(frozen=True)
class Platform:
    """One ``{os, architecture}`` entry of a ``platforms`` list (oc-mirror ``InstancePlatformFilter``)."""

    os: str
    architecture: str

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}"


@dataclass
class ReleaseChannel:
    """``mirror.platform.channels[]``. Without min/max: the channel's head only; ``minVersion``: from it
    to the head; ``maxVersion`` caps (a lone max means from the channel's first release); both: that range
    (oc-mirror then sets ``full``); ``full``: the whole channel; ``shortestPath``: only the releases on the
    shortest upgrade path from min to max (release/cincinnati.go)."""

    name: str
    type: str = "ocp"
    min_version: str | None = None
    max_version: str | None = None
    shortest_path: bool = False
    full: bool = False

    @property
    def heads_only(self) -> bool:
        return not self.full and self.min_version is None and self.max_version is None


@dataclass
class PlatformSpec:
    """``mirror.platform``. ``release`` (and bundler's ``releases``) name releases directly; when
    ``release`` is set oc-mirror ignores ``channels`` (bundler does the same and warns)."""

    channels: list[ReleaseChannel] = field(default_factory=list)
    architectures: list[str] = field(default_factory=list)
    platforms: list[Platform] = field(default_factory=list)
    graph: bool = False
    release: Reference | None = None
    releases: list[Reference] = field(default_factory=list)
    kubevirt_container: bool = False

    @property
    def release_architectures(self) -> list[str]:
        """Architectures to resolve channels for: ``multi`` with ``platforms`` (the multi payload, filtered
        to those platforms), else ``architectures``, else ``amd64`` (oc-mirror's default)."""
        if self.platforms:
            return ["multi"]
        return self.architectures or ["amd64"]


@dataclass(frozen=True)
class LayoutRef:
    """A local OCI image layout named ``oci://PATH[@sha256:...]`` (checked: ``oci-layout`` and
    ``index.json`` are there). ``written`` is the text of the configuration."""

    path: Path
    written: str
    digest: str | None = None


@dataclass
class ChannelSpec:
    name: str
    min_version: str | None = None
    max_version: str | None = None
    min_bundle: str | None = None


@dataclass
class PackageSpec:
    """``operators[].packages[]``. ``default_channel`` becomes the filtered catalog's default channel;
    ``min_bundle`` (v1alpha2 only) keeps that bundle and the upgrade graph from it to the head."""

    name: str
    channels: list[ChannelSpec] = field(default_factory=list)
    min_version: str | None = None
    max_version: str | None = None
    default_channel: str | None = None
    min_bundle: str | None = None


@dataclass
class CatalogSourceTemplate:
    """``targetCatalogSourceTemplate``: a CatalogSource whose fields are kept in the written one, except
    ``metadata.name``, ``metadata.namespace`` (openshift-marketplace), ``spec.sourceType`` (grpc) and
    ``spec.image``, which oc-mirror sets (clusterresources.go catalogSourceContentFromTemplate)."""

    path: Path
    document: dict[str, Any]


@dataclass
class CatalogSpec:
    """``mirror.operators[]``. ``catalog`` is the registry reference as written, or for an ``oci://``
    catalog (``layout`` set) the name it is carried under: ``LAYOUT_REGISTRY/<repository>:<tag>``.
    ``target_name`` is the repository path the catalog is mirrored to when the configuration overrides it
    (``targetCatalog``, or v1alpha2's ``targetName`` under the source namespace)."""

    catalog: Reference
    full: bool = False
    packages: list[PackageSpec] = field(default_factory=list)
    target_name: str | None = None
    target_catalog: str | None = None
    target_tag: str | None = None
    layout: LayoutRef | None = None
    skip_dependencies: bool = False
    catalog_source_template: CatalogSourceTemplate | None = None
    platforms: list[Platform] = field(default_factory=list)

    @property
    def mirror_repository(self) -> str:
        """The repository path under the mirror (oc-mirror operator/common.go: targetCatalog, else the
        layout directory's name, else the source path)."""
        return self.target_name or self.catalog.repository

    @property
    def mirror_tag(self) -> str | None:
        """``targetTag``, else ``latest`` for a layout, else the source tag (None: by digest only)."""
        return self.target_tag or self.catalog.tag


@dataclass
class AdditionalImage:
    """``mirror.additionalImages[]``: ``image`` (a registry reference) or ``layout`` (``oci://PATH``).
    ``target_repo``/``target_tag`` replace the repository path / tag in the mirror."""

    image: Reference | None = None
    layout: LayoutRef | None = None
    target_repo: str | None = None
    target_tag: str | None = None
    platforms: list[Platform] = field(default_factory=list)

    @property
    def mirror_repository(self) -> str:
        if self.target_repo:
            return self.target_repo
        if self.image is not None:
            return self.image.repository
        assert self.layout is not None
        return self.layout.path.as_posix().lstrip("/")

    @property
    def mirror_tag(self) -> str | None:
        """``targetTag``, else the source tag, else ``latest`` for a layout (None: ``sha256-<hex>``)."""
        if self.target_tag:
            return self.target_tag
        return self.image.tag if self.image is not None else "latest"


@dataclass
class BlockedImage:
    """``mirror.blockedImages[].name``: a regular expression searched (unanchored, as Go's
    ``regexp.MatchString``) in an image's source reference and in its mirror reference."""

    pattern: str
    regex: re.Pattern[str]

    def blocks(self, *references: str) -> bool:
        return any(self.regex.search(r) for r in references)


@dataclass
class HelmChart:
    """A chart: in a repository (``name``, ``version``; no version = the newest) or local (``path``)."""

    name: str
    version: str | None = None
    path: Path | None = None
    image_paths: list[str] = field(default_factory=list)
    platforms: list[Platform] = field(default_factory=list)


@dataclass
class HelmRepository:
    """``charts`` is None when the configuration lists none: every chart version of the repository's
    index (oc-mirror helm/local_stored_collector.go)."""

    name: str
    url: str
    charts: list[HelmChart] | None = None


@dataclass
class HelmSpec:
    repositories: list[HelmRepository] = field(default_factory=list)
    local: list[HelmChart] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.repositories or self.local)


@dataclass
class SamplesSpec:
    """``mirror.samples``: bundler's mapping form (``fromRelease``, ``images``, ``imagesFile``, ``skip``)
    or oc-mirror's list form (``- name: X``: image stream ``X`` of the release's samples; oc-mirror
    itself reads the list and does nothing with it). ``streams`` lists the selected streams (empty: all)."""

    from_release: bool = False
    images: list[Reference] = field(default_factory=list)
    images_file: Path | None = None
    skip: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)


@dataclass
class StorageConfig:
    """oc-mirror v1's metadata store (``storageConfig``): read so it can be named; bundler keeps none."""

    registry_image: str | None = None
    skip_tls: bool = False
    local_path: str | None = None


def layout_repository(written: str) -> str:
    """The repository name oc-mirror gives an ``oci://`` catalog: the layout directory's name."""
    return posixpath.basename(written.rstrip("/"))
