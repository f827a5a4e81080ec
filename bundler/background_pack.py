"""Pack the bundle while the pull is still running.

Once every manifest is known, the front of the archive (index, metadata, manifests) is final unless a
blob then fails. So export starts writing the archive right away, adding each blob as soon as it is
complete in the work layout (registry images' blobs first, the rest in arrival order). If anything
fails after all, the speculative archive is thrown away and the bundle is packed afterwards as usual.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from .archive import ArchiveWriter
from .layout import OCILayout

_ABORT = ""


class BackgroundPack:
    """A thread that writes the bundle from ``front`` files and blobs announced with :meth:`ready`."""

    def __init__(self, layout: OCILayout, bundle: Path, split: int | None, level: int,
                 front: list[tuple[str, bytes]], expected: set[str], first: set[str]) -> None:
        self.layout = layout
        self.bundle = bundle
        self.split = split
        self.level = level
        self.front = front
        self.expected = set(expected)
        self.first = set(first) & self.expected
        self.parts: list[tuple[Path, str]] = []
        self.error: BaseException | None = None
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="bundle-pack", daemon=True)
        self._thread.start()

    def ready(self, digest: str) -> None:
        """A blob is complete and verified in the layout. Raises the packer's own error (a full disk)
        so the pull stops at once instead of running on for nothing."""
        if self.error is not None:
            raise self.error
        self._queue.put(digest)

    def _run(self) -> None:
        writer: ArchiveWriter | None = None
        try:
            writer = ArchiveWriter(self.bundle, self.split, self.level)
            for name, data in self.front:
                writer.add_bytes(name, data)
            written: set[str] = set()
            held: list[str] = []
            while written != self.expected:
                digest = self._queue.get()
                if digest == _ABORT:
                    writer.abort()
                    return
                if digest in written or digest not in self.expected:
                    continue
                if self.first - written and digest not in self.first:
                    held.append(digest)  # registry images go first, so import can start them early
                    continue
                writer.add_blob(self.layout, digest)
                written.add(digest)
                if not self.first - written:
                    for h in held:
                        writer.add_blob(self.layout, h)
                        written.add(h)
                    held.clear()
            self.parts = writer.finish()
        except BaseException as exc:  # handed to the caller by finish()
            self.error = exc
            if writer is not None:
                writer.abort()

    def finish(self) -> list[tuple[Path, str]]:
        """Wait for the archive; it is complete once every expected blob was announced."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.parts

    def abort(self) -> None:
        """Drop the speculative archive (its partial parts are removed)."""
        if self._thread.is_alive():
            self._queue.put(_ABORT)
            self._thread.join()
