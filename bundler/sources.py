"""The upstream a configuration reads from: registries, plus the local OCI layouts its ``oci://`` entries
name (operator catalogs, additional images), each under the name it is carried as."""

from __future__ import annotations

from .config import DeleteImageSetConfig, ImageSetConfig, LayoutRef
from .errors import ConfigError
from .oci import Reference
from .transport import Source
from .transport.routed import LocalLayout, RoutedSource


def layouts_of(cfg: ImageSetConfig | DeleteImageSetConfig) -> list[tuple[Reference, LayoutRef]]:
    """(the name it is carried under, the layout) for every ``oci://`` entry."""
    out = [(spec.catalog, spec.layout) for spec in cfg.operators if spec.layout is not None]
    out += [(img.reference, img.layout) for img in cfg.additional if img.layout is not None]
    return out


def with_layouts(upstream: Source, cfg: ImageSetConfig | DeleteImageSetConfig) -> Source:
    """``upstream``, with the configuration's local layouts routed to by name."""
    routes: dict[str, LocalLayout] = {}
    for name, layout in layouts_of(cfg):
        other = routes.get(name.name)
        if other is not None and other.path != layout.path:
            raise ConfigError(f"{layout.where}: oci://{layout.written} would be carried as {name.name}, like "
                              f"{other.where}", "give one of them a targetCatalog / targetRepo")
        routes[name.name] = LocalLayout(layout.path, layout.digest, layout.where)
    return RoutedSource(upstream, routes) if routes else upstream
