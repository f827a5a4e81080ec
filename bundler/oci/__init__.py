"""What an image is, apart from where it lives (the shape of go-containerregistry's ``pkg/v1``).

Digests, media types, descriptors, manifests (raw bytes kept, parsed once), references (a repository, a
reference pinned by digest), platforms, the OCI image-layout directory format, and ONE deterministic layer
and image builder. May import only the standard library, ``bundler.errors`` and itself.
"""

from . import mediatypes
from .descriptor import Descriptor, Platform
from .digest import sha256_digest
from .manifest import Manifest
from .reference import Pinned, Reference, Repository, parse

__all__ = ["mediatypes", "Descriptor", "Manifest", "Pinned", "Platform", "Reference", "Repository", "parse", "sha256_digest"]
