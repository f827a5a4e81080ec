"""Is the stack answering? One probe (for ``status``) and the wait after ``up``.

Every request verifies TLS against the stack's own CA (``<data-dir>/ca-bundle.pem``) through
:class:`bundler.http.TrustedSession`, whatever ``REQUESTS_CA_BUNDLE`` says, and a failure is reported
as what it was (unknown CA, hostname mismatch, refused connection, HTTP status).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from ..errors import BundlerError
from ..http import TrustedSession
from .api import QuayClient, describe_failure

if TYPE_CHECKING:
    from .stack import StackState

CA_BUNDLE = "ca-bundle.pem"


def probe(data_dir: Path, state: StackState, timeout: float = 5.0) -> tuple[bool, str]:
    """(ready, what was seen): Quay's ``/health/instance`` is 200; Distribution's ``/v2/`` is 200 or 401."""
    quay = state.flavor == "quay"
    path = "/health/instance" if quay else "/v2/"
    with TrustedSession(str(Path(data_dir) / CA_BUNDLE)) as session:
        try:
            resp = session.get(f"https://{state.registry_host}{path}", timeout=timeout)
        except requests.RequestException as exc:
            return False, describe_failure(exc)
    ok = resp.status_code == 200 or (not quay and resp.status_code == 401)
    return ok, f"HTTP {resp.status_code} from {path}"


def wait_ready(data_dir: Path, state: StackState, timeout: float = 600.0) -> None:
    """Wait until the registry answers; the error names the last failure seen."""
    ca = str(Path(data_dir) / CA_BUNDLE)
    if state.flavor == "quay":
        QuayClient(f"https://{state.registry_host}", verify=ca).wait_healthy(timeout)
        return
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        ready, last = probe(data_dir, state)
        if ready:
            return
        time.sleep(0.5)
    raise BundlerError(f"registry {state.registry_host} not ready after {timeout:.0f}s (last: {last})",
                       f"see `podman logs {state.name}-registry`")
