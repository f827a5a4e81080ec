"""ONE copy engine (containers/image's ``copy/``): from any source to any destination.

jobs -> every manifest tree resolved (children first) -> every unique blob moved once, verified while it
streams (HEAD-skip, mount, upload; or in a sequential source's own order) -> child manifests -> lists and
tags. Export is registry -> bundle, import is bundle -> registry, the Quay bootstrap stages bundle -> layout:
the same engine with the transports swapped. It reads a transport's stated capabilities, never its class.
May import :mod:`bundler.oci`, :mod:`bundler.transport`, :mod:`bundler.errors`.
"""

from .copy import CopyEngine
from .jobs import BlobNeed, CopyResult, ImageJob, Resolution
from .resolve import resolve

__all__ = ["BlobNeed", "CopyEngine", "CopyResult", "ImageJob", "Resolution", "resolve"]
