"""The bundle format, in one place: what crosses the air gap.

An OCI image layout packed as tar+zstd in parts with checksums. ``metadata`` (``bundler.json``, typed),
``archive`` (tar+zstd, read once in order), ``parts`` (split files, ``BUNDLE.sha256``), and the bundle as a
transport pair: ``destination`` (export writes into it; ``commit()`` packs) and ``source`` (import and
verify stream from it). May import :mod:`bundler.oci`, :mod:`bundler.transport`, :mod:`bundler.errors`.
"""

from .destination import BundleDestination, work_dir
from .metadata import BundleMetadata, ImageRecord
from .parts import checksum_path, parse_size
from .source import BundleSource

__all__ = ["BundleDestination", "BundleMetadata", "BundleSource", "ImageRecord", "checksum_path", "parse_size",
           "work_dir"]
