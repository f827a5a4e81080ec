"""Where images live, as the copy engine sees them (containers/image's transports).

``base`` declares the one :class:`Source` and the one :class:`Destination` protocol and the capabilities a
transport states (a sequential source, mounts, reading back what was written); the engine reads those,
never the class. One file per place: ``registry``, ``layout`` (an OCI layout directory), ``memory`` (images
built while planning, and unit tests), ``overlay`` (several sources seen as one, optionally keeping what is
read). The bundle is a transport pair too; it lives with its format in :mod:`bundler.bundle`.
May import :mod:`bundler.oci`, :mod:`bundler.registry`, :mod:`bundler.errors`.
"""

from .base import BlobStream, Destination, DestinationCaps, SequentialSource, Source, SourceCaps

__all__ = ["BlobStream", "Destination", "DestinationCaps", "SequentialSource", "Source", "SourceCaps"]
