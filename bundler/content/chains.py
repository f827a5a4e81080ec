"""Planning chains of content kinds at once, as one plan: each chain plans into a plan of its own, merged in
the chains' order afterwards, so nothing depends on which finished first. When one chain fails, the others
stop at their next request to the upstream instead of finishing work whose plan will be thrown away (a
catalog's download behind a release whose signature did not verify)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from ..errors import BundlerError
from ..oci import Descriptor, Manifest, Reference, Repository
from ..plan import Plan, PlanContext
from ..transport import Source
from .base import ContentKind


class PlanningStopped(BundlerError):
    """Raised to a chain's planner at its next upstream request once another chain failed."""


class StoppableSource:
    """The planners' source, refusing every request once ``stop`` is set; a blob stops between chunks."""

    def __init__(self, source: Source, stop: threading.Event) -> None:
        self.source = source
        self.stop = stop
        self.caps = source.caps

    def _check(self) -> None:
        if self.stop.is_set():
            raise PlanningStopped("planning stopped: another content kind failed")

    def get_manifest(self, ref: Reference) -> Manifest:
        self._check()
        return self.source.get_manifest(ref)

    def open_blob(self, repo: Repository, desc: Descriptor) -> Iterator[bytes]:
        self._check()
        return self._checked(self.source.open_blob(repo, desc))

    def _checked(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._check()
            yield chunk

    def __getattr__(self, name: str) -> Any:
        """Optional calls (``tags``, ``referrers``) are stopped the same way; absent ones stay absent."""
        found = getattr(self.source, name)
        if not callable(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self._check()
            return found(*args, **kwargs)
        return call


def plan_at_once(ctx: PlanContext, chains: Sequence[tuple[ContentKind, ...]]) -> list[Plan]:
    """Each chain's plan, the chains at once and the kinds of a chain one after another. A failure stops the
    other chains and is raised once all have ended (none is left running): the first chain's in
    ``chains`` order among those that failed on their own."""
    stop = threading.Event()
    subs = [replace(ctx, plan=Plan(), source=StoppableSource(ctx.source, stop)) for _ in chains]
    with ThreadPoolExecutor(max(1, len(chains)), thread_name_prefix="plan") as pool:
        futures = [pool.submit(_plan_chain, chain, sub) for chain, sub in zip(chains, subs, strict=True)]
        try:
            ended = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # Ctrl-C while waiting: the chains stop at their next request too
            stop.set()
            raise
        if ended.not_done:
            stop.set()
    errors = [e for e in (f.exception() for f in futures) if e is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, PlanningStopped)), errors[0])
    return [sub.plan for sub in subs]


def _plan_chain(chain: tuple[ContentKind, ...], ctx: PlanContext) -> None:
    for kind in chain:
        kind.plan(ctx)
