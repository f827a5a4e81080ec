"""The two Quay API traps a real Quay cannot be made to show on demand, against a FAKE Quay.

Every other path of the client (first user, existing user, organizations, robots, teams, default
permissions, token re-use and expiry, sign-in, trust) runs against the REAL Project Quay in
tests/test_quay_real_api.py. What stays here, and why it is a fake:

- ``/health/instance`` answering 503 a given number of times, then 200: real Quay answers 503 only while
  it boots, for as long as it takes; the poll and its error message need it exactly.
- ``POST /api/v1/user/initialize`` answering 404 (``FEATURE_USER_INITIALIZE: false``): the shared real
  Quay has the feature on (bundler needs it); showing the 404 would cost a second Quay boot.

``FakeQuay`` is a small http.server on 127.0.0.1 answering those two routes as Quay 3.12 does
(``endpoints/web.py``, ``health/healthcheck.py``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bundler.quay.api import QuayAPIError, QuayClient


class FakeQuay:
    def __init__(self) -> None:
        self.user_initialize = True
        self.health_failures = 0
        self.calls: list[tuple[str, str]] = []
        self.url = ""


def _handler(fake: FakeQuay) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *_a: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            path = self.path.split("?")[0]
            fake.calls.append((method, path))
            if path == "/health/instance":
                if fake.health_failures > 0:
                    fake.health_failures -= 1
                    return self._send(503, {"data": {"services": {"database": False, "auth": True}},
                                            "status_code": 503})
                return self._send(200, {"data": {"services": {"database": True}}, "status_code": 200})
            if path == "/api/v1/user/initialize" and method == "POST" and not fake.user_initialize:
                # route_show_if(features.USER_INITIALIZE) -> Flask's 404 page
                return self._send(404, {"error": "Not Found"})
            return self._send(404, {"error": "Not Found"})

        def do_GET(self) -> None:  # noqa: N802
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            self._route("POST")

    return H


@pytest.fixture()
def fake() -> Iterator[FakeQuay]:
    state = FakeQuay()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def client(fake: FakeQuay) -> QuayClient:
    return QuayClient(fake.url, verify=False, timeout=5)


def test_wait_healthy_polls_until_200(fake: FakeQuay) -> None:
    fake.health_failures = 2
    client(fake).wait_healthy(timeout=10, interval=0.05)
    assert fake.calls.count(("GET", "/health/instance")) == 3


def test_wait_healthy_times_out_naming_the_failing_checks(fake: FakeQuay) -> None:
    fake.health_failures = 1000
    with pytest.raises(QuayAPIError, match=r"within 0s \(last: HTTP 503, failing: database\)") as err:
        client(fake).wait_healthy(timeout=0.3, interval=0.05)
    assert err.value.hint and "podman logs" in err.value.hint


def test_initialize_feature_off_is_404(fake: FakeQuay) -> None:
    fake.user_initialize = False
    with pytest.raises(QuayAPIError, match="FEATURE_USER_INITIALIZE"):
        client(fake).initialize("quayadmin", "s3cretpassword", "a@b.invalid")
