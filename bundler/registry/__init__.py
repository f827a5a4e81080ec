"""The distribution API over HTTP: auth challenges, manifests, blobs, uploads, mounts, retries.
May import :mod:`bundler.oci`, :mod:`bundler.auth`, :mod:`bundler.http`, :mod:`bundler.errors`."""

from .client import RegistryClient, RegistryPool
from .options import ConnectOptions

__all__ = ["ConnectOptions", "RegistryClient", "RegistryPool"]
