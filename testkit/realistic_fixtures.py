"""The session fixture of the habits tests (tests/test_habits_*.py): a TLS + token registry holding what the
realistic configurations name (:mod:`testkit.realistic`), built once, and an auth file for it and the shared
Basic registry. Imported by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .certs import CA
from .realistic import Realistic, build_realistic
from .registry import RegistryServer, write_authfile


@dataclass
class RealWorld:
    upstream: RegistryServer
    up: Realistic
    ca_file: Path
    authfile: Path
    root: Path

    def config(self, name: str, where: Path, *, drop_channels: bool = False) -> Path:
        return self.up.copy_config(name, where, drop_channels=drop_channels)


@pytest.fixture(scope="session")
def realistic(tls_ca: CA, tmp_path_factory: pytest.TempPathFactory,
              basic_registry_server: RegistryServer) -> Iterator[RealWorld]:
    root = tmp_path_factory.mktemp("realistic")
    ca_file = root / "ca.pem"
    ca_file.write_bytes(tls_ca.pem)
    with RegistryServer(ca=tls_ca, auth="token", username="redhat-user") as server:
        up = build_realistic(server.client())
        authfile = write_authfile(root / "auth.json", {
            server.host: (server.username, server.password),
            basic_registry_server.host: (basic_registry_server.username, basic_registry_server.password)})
        yield RealWorld(server, up, ca_file, authfile, root)
