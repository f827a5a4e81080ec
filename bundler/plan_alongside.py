"""Planning that runs while the pull does: the sigstore signatures of every planned image are looked up
(two requests an image, most of planning's time on a release) while the images' blobs move; the few
signature images found are pulled after them. With ``--require-sigstore`` or ``--dry-run`` the lookups
run before the pull instead, so a missing signature still stops the export before anything is pulled."""

from __future__ import annotations

import threading

from .content import plan_alongside
from .plan import PlanContext, PlannedImage


class PlanAlongside:
    """Starts the lookups in a thread of their own; :meth:`result` waits for them."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self._images = len(ctx.plan.images)
        self._warnings = len(ctx.plan.warnings)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="plan-alongside", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            plan_alongside(self.ctx)
        except BaseException as exc:  # re-raised by result(), in the export's thread
            self._error = exc

    def result(self) -> tuple[list[PlannedImage], list[str]]:
        """The images the lookups added, and their warnings."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.ctx.plan.images[self._images:], self.ctx.plan.warnings[self._warnings:]
