"""``bundler delete``: oc-mirror's two-phase delete. ``--generate`` reads a DeleteImageSetConfiguration and
writes a delete plan (a dry run: nothing is deleted); ``--plan`` deletes what a plan lists and says how the
registry reclaims the space."""

from .execute import DeleteResult, execute
from .generate import GenerateOptions, generate
from .planfile import DeleteItem, DeletePlan, read_plan

__all__ = ["DeleteItem", "DeletePlan", "DeleteResult", "GenerateOptions", "execute", "generate", "read_plan"]
