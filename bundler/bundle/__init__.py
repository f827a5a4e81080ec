"""The bundle format, in one place: what crosses the air gap.

An OCI image layout packed as tar+zstd: a front file (metadata and every manifest) and data parts (every
blob, streamed in while the export pulls), with checksums, optional parity parts and a signature.
``names`` (the files), ``metadata`` (``bundler.json``, typed), ``writer``/``sink``/``dataparts``/``journal``/
``front``/``tarstream`` (writing, resumable), ``archive``/``parts``/``frames``/``tarread`` (reading, schema 1
and 2), ``parity``, ``signing``, ``media`` (part size presets), ``diff`` (what a base bundle or inventory
holds), ``inventory``, ``receipt``,
and the bundle as a transport pair: ``destination`` (export writes into it; ``commit()`` finishes it) and
``source`` (import and verify stream from it). May import :mod:`bundler.oci`, :mod:`bundler.transport`,
:mod:`bundler.errors`.
"""

from .destination import BundleDestination
from .metadata import BundleMetadata, ImageRecord
from .names import checksum_path
from .parts import parse_size
from .source import BundleSource

__all__ = ["BundleDestination", "BundleMetadata", "BundleSource", "ImageRecord", "checksum_path", "parse_size"]
