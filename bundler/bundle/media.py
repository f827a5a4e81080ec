"""Part sizes for the media a bundle is carried on: ``--split-size fat32|dvd|dvd-dl|bd25|bd50`` or a size.

A preset is the byte size of every data part but the last, chosen so that ONE part and everything that
travels with it fits the medium:

* the largest file the medium's filesystem holds, or the recordable capacity of the disc (the smaller of
  the -R and +R formats), less
* the filesystem's own structures (ISO 9660/Joliet or UDF: volume descriptors, path tables, anchors,
  directory records: a few MiB on a DVD; UDF metadata partition and its mirror on a BD), and
* room on the FIRST medium for the small files written beside part 000: the front ``BUNDLE`` (metadata
  and every manifest: well under 64 MiB even for a release with several operator catalogs),
  ``BUNDLE.sha256`` and ``BUNDLE.sig``; a parity part is a data part's size plus a 64 KiB header.

| preset | medium capacity (bytes) | reserve | part size (bytes) |
|---|---|---|---|
| fat32 | 4 GiB - 1 (largest FAT32 file) | 4 MiB | 4,290,772,992 (4092 MiB) |
| dvd | 4,700,372,992 (DVD+R, 2,295,104 sectors) | >= 64 MiB | 4,632,608,768 (4418 MiB) |
| dvd-dl | 8,543,666,176 (DVD-R DL, 4,171,712 sectors) | >= 64 MiB | 8,475,639,808 (8083 MiB) |
| bd25 | 25,025,314,816 (BD-R SL, 12,219,392 sectors) | 256 MiB | 24,756,879,360 (23610 MiB) |
| bd50 | 50,050,629,632 (BD-R DL, 24,438,784 sectors) | >= 256 MiB | 49,781,145,600 (47475 MiB) |

The ImageSetConfiguration's ``archiveSize`` (GiB, oc-mirror's) is a hook left for the config work:
:func:`split_size` takes it as ``config_gib`` and uses it when no ``--split-size`` is given.
"""

from __future__ import annotations

from ..errors import BundlerError
from .parts import parse_size

MIB = 1 << 20
PRESETS: dict[str, int] = {
    "fat32": 4092 * MIB,
    "dvd": 4418 * MIB,
    "dvd-dl": 8083 * MIB,
    "bd25": 23610 * MIB,
    "bd50": 47475 * MIB,
}
MEDIUM_RESERVE = 64 * MIB
"""What every preset leaves on a medium beside one data part: filesystem, front, checksums, signature."""
MIN_SPLIT = 64 << 10
"""Smaller parts than this would be mostly headers and checksums (tests use a few hundred KiB)."""


def split_size(value: str | None, config_gib: int | None = None) -> int | None:
    """The data part size asked for: a preset name, a size (``4G``, ``700M``), else the config's
    ``archiveSize`` in GiB (the hook for the config work), else None: one data part."""
    if value is None or not value.strip():
        return config_gib << 30 if config_gib else None
    text = value.strip().lower()
    if text in PRESETS:
        return PRESETS[text]
    if not text[0].isdigit():
        raise BundlerError(f"--split-size {value!r} is not a medium preset nor a size",
                           "use one of " + ", ".join(f"{k} ({v // MIB} MiB)" for k, v in PRESETS.items())
                           + ", or a size such as 4G or 700M")
    size = parse_size(value)
    if size < MIN_SPLIT:
        raise BundlerError(f"--split-size {value!r} is too small", f"parts must be at least {MIN_SPLIT >> 10} KiB")
    return size
