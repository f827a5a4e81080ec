"""What the configuration asks of a catalog beyond the filter: its dependencies resolved (unless
``skipDependencies``), where it lands (``targetCatalog``/``targetTag``, or v1's ``targetName``), the
CatalogSource template, and errors about an ``oci://`` catalog named by its configuration entry."""

from __future__ import annotations

from typing import Any

from ...config import CatalogSpec
from ...errors import BundlerError, ConfigError
from ...isc.reader import has_tag_or_digest
from ...oci import Reference, parse
from ...plan import PlanContext, PlannedImage
from ...records import send_to
from . import deps
from .model import Catalog
from .select import Selection

V2_NOTE = ("oc-mirror v2 carries no dependencies; bundler resolves them as oc-mirror v1 does "
           "(set skipDependencies: true to carry only what the filter selects)")


def dependencies(ctx: PlanContext, spec: CatalogSpec, catalog: Catalog, selection: Selection) -> list[str]:
    """Add what the kept bundles require (in place); returns what was added, for the record."""
    if spec.skip_dependencies or selection.everything:
        return []
    added = deps.resolve(catalog, selection)
    for missing in added.unsatisfied:
        ctx.plan.warnings.append(f"{spec.catalog}: {missing}: OLM will not install it from the mirror")
    if added.reasons:
        v2 = not ctx.config.api_version.endswith("/v1alpha2")
        ctx.plan.warnings.append(f"{spec.catalog}: dependencies carried too: {'; '.join(added.reasons)}"
                                 + (f" ({V2_NOTE})" if v2 else ""))
    return added.reasons


def land(ctx: PlanContext, spec: CatalogSpec, image: PlannedImage) -> None:
    """``targetCatalog`` (or v1's ``targetName``) replaces the catalog's path in the mirror, ``targetTag`` its
    tag. An ``oci://`` catalog is already named after them."""
    if spec.layout is None and (spec.target_name or spec.target_tag):
        send_to(ctx.plan.records, image.source.name, image.digest, spec.target_name, spec.target_tag)


def record_extras(spec: CatalogSpec, added: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.catalog_source_template is not None:
        out["catalogSourceTemplate"] = spec.catalog_source_template.document
    if added:
        out["dependencies"] = added
    if spec.layout is not None:
        out["layout"] = f"oci://{spec.layout.written}"
    return out


def exact(image: str, owner: str, what: str) -> Reference:
    """A bundle's image reference, which must name a tag or a digest: oc-mirror refuses one without
    (image.ParseRef "tag and digest are empty"); bundler never guesses ``:latest``."""
    if not has_tag_or_digest(image):
        raise ConfigError(f"{owner} names {what} {image} without a tag or a digest",
                          "the catalog is broken there: ask its publisher, or leave the bundle out of the selection")
    return parse(image)


def layout_error(spec: CatalogSpec, exc: BundlerError) -> BundlerError:
    """A catalog in a local layout that cannot be read is the configuration's fault: say which entry."""
    if spec.layout is None or isinstance(exc, ConfigError):
        return exc
    return ConfigError(f"{spec.layout.where}: oci://{spec.layout.written} holds no operator catalog bundler can read: "
                       f"{exc.message}", exc.hint or "point it at the OCI layout of a catalog image (opm, skopeo copy)")
