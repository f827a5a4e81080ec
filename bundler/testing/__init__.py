"""Test infrastructure: real Docker Distribution registries, a token server, throw-away TLS, and a
synthetic OpenShift upstream (``bundler.synthetic``)."""

from .certs import CA, TLSFiles
from .registry import RegistryBinaryMissing, RegistryServer, TokenServer, free_port, libtrust_key_id, write_authfile

__all__ = [
    "CA",
    "RegistryBinaryMissing",
    "RegistryServer",
    "TLSFiles",
    "TokenServer",
    "free_port",
    "libtrust_key_id",
    "write_authfile",
]
