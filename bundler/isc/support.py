"""What bundler does not do (yet) with a field it reads, in one table, so that no field is ever silently
ignored. Each entry is warned about, naming file, line and field, whenever a configuration uses it.

PENDING: read into typed settings, not yet applied by the planners/importer. Remove an entry when the
wiring lands (tests/test_config_fields.py checks that each entry still produces its warning).
NOT_APPLICABLE: fields that cannot apply to bundler at all; the message says what to do instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .reader import Reader

PENDING: dict[str, str] = {
    "platform.channels": "release channels are not resolved yet (issue 9): no release is carried for them; "
                         "name each release with platform.release (or bundler's platform.releases)",
    "platform.graph": "the update graph-data image is not built yet (issue 9); carry an existing graph-data "
                      "image as an additionalImage",
    "platform.kubeVirtContainer": "the KubeVirt container disk of the release is not added yet; add the "
                                  "release's kubevirt digest-ref (0000_50_installer_coreos-bootimages) "
                                  "as an additionalImage",
    "platform.architectures": "applies to release channels, which are not resolved yet (issue 9)",
    "platform.platforms": "platform filtering is not applied yet: every platform of the release is carried",
    "operators.layout": "catalogs in a local OCI layout are read but not carried yet; push the layout to a "
                        "registry (skopeo copy oci:PATH docker://...) and name that reference instead",
    "operators.targetCatalog": "the mirror location is not changed yet: the catalog is pushed under its source "
                               "path (the CatalogSource is named after targetCatalog)",
    "operators.targetTag": "the catalog keeps its source tag (or sha256-<hex>) in the mirror for now",
    "operators.targetCatalogSourceTemplate": "the template is checked but not merged yet: the written "
                                             "CatalogSource has bundler's defaults",
    "operators.defaultChannel": "not applied yet: bundler keeps the catalog's default channel, or the first "
                                "carried channel when that one is not carried (with a warning)",
    "operators.minBundle": "not applied yet: the channel's head is carried; use minVersion if the bundles "
                           "have versions",
    "operators.dependencies": "oc-mirror v1 adds the bundles that satisfy olm.package.required / "
                              "olm.gvk.required; bundler does not resolve dependencies yet: list the "
                              "packages they need, or set skipDependencies: true to say so",
    "operators.v1FullRange": "oc-mirror v1 carries this range (full: true applies to the other packages); "
                             "bundler's selection refuses full with a range until this is wired: remove "
                             "full: true or the range",
    "operators.platforms": "platform filtering is not applied yet: every platform of each image is carried",
    "additionalImages.layout": "images in a local OCI layout are not carried yet; push the layout to a "
                               "registry and name that reference instead",
    "additionalImages.targetRepo": "the mirror location is not changed yet: the image is pushed under its "
                                   "source path",
    "additionalImages.targetTag": "the image keeps its source tag (or sha256-<hex>) in the mirror for now",
    "additionalImages.platforms": "platform filtering is not applied yet: every platform of the image is carried",
    "blockedImages": "blocked images are not left out yet: nothing is filtered; remove the images from the "
                     "lists that name them, or from the catalog selection",
    "samples.streams": "sample image streams are not selected by name yet: every stream of the release is "
                       "carried (use skip: to leave some out)",
    "archiveSize": "is not used as the split size yet; pass --split-size {size}G to bundler export",
}

NOT_APPLICABLE: dict[str, str] = {
    "helm": "Helm charts and their images are not carried (issue 13: bundler has no chart renderer yet); "
            "list the chart's images under additionalImages and carry the chart archive beside the bundle",
    "storageConfig": "oc-mirror v1's metadata store does not apply: a bundle is complete in itself and "
                     "import needs no metadata; remove storageConfig",
    "operators.originalRef": "deprecated since oc-mirror 4.13, which ignores it; remove it",
    "delete.samples": "oc-mirror's delete ignores samples; nothing is deleted for them",
}


def pending(r: Reader, fpath: str, key: str, **fmt: str) -> None:
    """Warn that ``fpath`` is read but not applied yet by export (no-op once its entry is removed, and for
    a DeleteImageSetConfiguration, whose command says itself what it does)."""
    if key in PENDING and not r.delete:
        r.warn(fpath, PENDING[key].format(**fmt))


def not_applicable(r: Reader, fpath: str, key: str) -> None:
    r.warn(fpath, NOT_APPLICABLE[key])
