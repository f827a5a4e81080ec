"""Architecture names: Go's (image configs, manifest lists) and the release/uname ones (x86_64 ...).

One table for the whole program: release tags, samples operator directories, update-graph queries and
the host's own architecture all translate through it.
"""

from __future__ import annotations

import platform as _platform

# Go architecture -> the name OpenShift release tags, RHCOS and the samples operator use.
GO_TO_RELEASE = {"amd64": "x86_64", "arm64": "aarch64", "ppc64le": "ppc64le", "s390x": "s390x"}
RELEASE_TO_GO = {v: k for k, v in GO_TO_RELEASE.items()}
GO_ARCHES = tuple(GO_TO_RELEASE)
VARIANTS = {"arm64": "v8"}


def go_arch(name: str) -> str:
    """``x86_64`` or ``amd64`` -> ``amd64``; unknown names are returned unchanged."""
    return RELEASE_TO_GO.get(name, name)


def release_arch(name: str) -> str:
    """``amd64`` or ``x86_64`` -> ``x86_64``; unknown names are returned unchanged."""
    return GO_TO_RELEASE.get(name, name)


def host_go_arch() -> str:
    """This machine's architecture, Go-style."""
    return go_arch(_platform.machine().lower())
