"""Output renderers: what the install needs, written from the mirrored images. ``mirrors`` renders the
mirror configuration every install needs; content kinds bring their own renderers (CatalogSources, the
samples patch), which the import pipeline passes in. May import :mod:`bundler.oci` only."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from .context import MirroredImage, OutputContext
from .mirrors import render_mirrors

Renderer = Callable[[OutputContext], None]

__all__ = ["MirroredImage", "OutputContext", "Renderer", "listing", "render_all", "render_mirrors"]


def render_all(octx: OutputContext, renderers: Iterable[Renderer]) -> list[Path]:
    """Every renderer in turn into ``octx.outdir``; returns the files written."""
    octx.outdir.mkdir(parents=True, exist_ok=True)
    for render in renderers:
        render(octx)
    return octx.written


def listing(outdir: Path, written: Iterable[Path]) -> str:
    """``Outputs in DIR: a, b, tools/4.4.5/oc``: each file relative to ``outdir``, so two releases' tools differ."""
    names = [str(p.relative_to(outdir)) if p.is_relative_to(outdir) else str(p) for p in written]
    return f"Outputs in {outdir}: " + ", ".join(names)
