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

PENDING: dict[str, str] = {}  # every field oc-mirror reads is applied now (helm.platforms was the last)

NOT_APPLICABLE: dict[str, str] = {
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
