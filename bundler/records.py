"""Plan records that are not one content kind's but steer where and how every image lands: written by the
planners at export (``bundler.json`` ``extra``), read by import, mirror and delete (:mod:`bundler.landing`).
Only names and small helpers: every layer may import this module."""

from __future__ import annotations

from typing import Any

TARGETS = "targets"
"""Images the configuration sends elsewhere than their source path: ``{"<name>@<digest>": [{"repository": PATH,
"tag": TAG or None}, ...]}`` (``targetCatalog``, ``targetTag``, ``targetRepo``); PATH is under the mirror's
prefix."""

PLATFORMS = "platforms"
"""Images carried for some of their platforms only (sparse lists): ``{"<name>@<digest>": ["linux/amd64", ...]}``."""

BLOCKED = "blocked"
"""Images ``blockedImages`` left out: ``[{"image": REF, "kind": KIND, "pattern": REGEX}]`` (for the report)."""


def image_key(name: str, digest: str) -> str:
    return f"{name}@{digest}"


def send_to(records: dict[str, Any], name: str, digest: str, repository: str | None, tag: str | None) -> None:
    """Record that the image ``name@digest`` goes to ``repository`` (None: its source path) under ``tag``
    (None: its own tags)."""
    entry = {"repository": repository, "tag": tag}
    entries = records.setdefault(TARGETS, {}).setdefault(image_key(name, digest), [])
    if entry not in entries:
        entries.append(entry)


def merge_records(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Add ``other``'s records to ``into``: a kind's own key is new; a shared one (:data:`TARGETS`, written by
    several kinds) is merged, its lists keeping each entry once as :func:`send_to` does."""
    for key, value in other.items():
        mine = into.get(key)
        if isinstance(mine, dict) and isinstance(value, dict):
            merge_records(mine, value)
        elif isinstance(mine, list) and isinstance(value, list):
            mine.extend(entry for entry in value if entry not in mine)
        elif key not in into:
            into[key] = value
