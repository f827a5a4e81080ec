"""The files of a bundle on disk, by name. ``BUNDLE`` is the path the user gives (``-o out/ocp.tar.zst``).

Schema 2 (written since bundles are signed, differential and repairable)::

    BUNDLE            the front: tar+zstd of oci-layout, index.json, bundler.json and every manifest,
                      without a tar end marker (written last, at commit)
    BUNDLE.000 ...    the data parts: the same tar stream continued (every blob, each its own zstd frame;
                      the tar end marker in the last part); every part but the last of the split size
    BUNDLE.par000 ... parity parts (Reed-Solomon over the front and the data parts), with --parity
    BUNDLE.sha256     sha256sum lines for every file above
    BUNDLE.sig        the signature statement, with --sign-key
    BUNDLE.journal    only while exporting: which blobs the data parts hold (resume after a kill)

``cat BUNDLE BUNDLE.[0-9]* | zstd -d | tar x`` unpacks it. Schema 1 (single stream, ``BUNDLE`` or
``BUNDLE.000 ...`` with no front) is still read.
"""

from __future__ import annotations

import re
from pathlib import Path

DATA_SUFFIX = re.compile(r"^\.(\d{3,})$")
PARITY_SUFFIX = re.compile(r"^\.par(\d{3,})$")


def data_part(bundle: Path, index: int) -> Path:
    return bundle.with_name(f"{bundle.name}.{index:03d}")


def parity_part(bundle: Path, index: int) -> Path:
    return bundle.with_name(f"{bundle.name}.par{index:03d}")


def checksum_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sha256")


def signature_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".sig")


def journal_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + ".journal")


def cache_dir(bundle: Path) -> Path:
    """Blobs the planners read (release and catalog layers), kept so the copy does not fetch them again."""
    return bundle.with_name(bundle.name + ".cache")


def spool_dir(bundle: Path) -> Path:
    """Large blobs downloaded while the archive was busy, until their turn (bounded)."""
    return bundle.with_name(bundle.name + ".spool")


def existing_data_parts(bundle: Path) -> list[Path]:
    """``BUNDLE.000, .001, ...`` present on disk, in order."""
    found = [p for p in bundle.parent.glob(bundle.name + ".[0-9]*") if DATA_SUFFIX.match(p.name[len(bundle.name):])]
    return sorted(found, key=lambda p: int(p.name[len(bundle.name) + 1:]))


def existing_parity_parts(bundle: Path) -> list[Path]:
    found = [p for p in bundle.parent.glob(bundle.name + ".par*") if PARITY_SUFFIX.match(p.name[len(bundle.name):])]
    return sorted(found, key=lambda p: int(p.name[len(bundle.name) + 4:]))


def is_parity_name(bundle: Path, name: str) -> bool:
    return name.startswith(bundle.name) and bool(PARITY_SUFFIX.match(name[len(bundle.name):]))
