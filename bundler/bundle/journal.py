"""``BUNDLE.journal``: while an export writes its data parts, which blobs they hold and where each ends.

Every blob is its own zstd frame, so the end of each is a place the stream can be cut and continued.
Entries are appended after the parts were synced up to them (every few seconds or hundreds of MiB), so
after a kill -9 or a power cut the journal never names bytes the disk does not hold. The first line says
how the parts were cut and compressed: a re-run with other settings starts again.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import disk_error

_LINE = re.compile(r"^(sha256:[0-9a-f]{64}) (\d+) (\d+)$")


@dataclass(frozen=True)
class JournalEntry:
    digest: str
    size: int
    end: int
    """Offset in the data stream just after this blob's frame."""


def load(path: Path, settings: dict[str, Any]) -> list[JournalEntry]:
    """The entries of an earlier run with the same settings (none when there is no journal, it is
    unreadable, or the settings differ)."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    if not lines:
        return []
    try:
        if json.loads(lines[0]) != settings:
            return []
    except ValueError:
        return []
    entries: list[JournalEntry] = []
    for line in lines[1:]:
        m = _LINE.match(line)
        if not m:
            break  # a torn last line: what came before is good
        entries.append(JournalEntry(m.group(1), int(m.group(2)), int(m.group(3))))
    return entries


class Journal:
    """Appends entries; ``flush`` makes them durable (call it only after the parts were synced)."""

    def __init__(self, path: Path, settings: dict[str, Any], keep: list[JournalEntry]) -> None:
        self.path = path
        self._pending: list[JournalEntry] = []
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "w") as fh:
                fh.write(json.dumps(settings, sort_keys=True) + "\n")
                fh.writelines(_line(e) for e in keep)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            self._fh: IO[str] | None = open(path, "a")  # noqa: SIM115 - kept open while exporting
        except OSError as exc:
            raise disk_error(exc, "the export journal", path) from exc

    def add(self, entry: JournalEntry) -> None:
        self._pending.append(entry)

    def flush(self) -> None:
        if not self._pending or self._fh is None:
            return
        try:
            self._fh.writelines(_line(e) for e in self._pending)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise disk_error(exc, "the export journal", self.path) from exc
        self._pending.clear()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _line(e: JournalEntry) -> str:
    return f"{e.digest} {e.size} {e.end}\n"
