"""The distribution API: auth challenges, manifests, blobs, uploads, mounts, retries."""

from .client import Manifest, RegistryClient, RegistryPool

__all__ = ["Manifest", "RegistryClient", "RegistryPool"]
