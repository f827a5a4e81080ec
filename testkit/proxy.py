"""A minimal HTTP CONNECT proxy on 127.0.0.1, to prove clients honour HTTPS_PROXY.

It tunnels bytes only (TLS stays end to end) and records every CONNECT target in :attr:`ConnectProxy.tunnels`.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from typing import Any


class ConnectProxy:
    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self._server: socketserver.ThreadingTCPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ConnectProxy:
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(4096).decode("latin-1").split()
                while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
                    pass
                if len(line) < 2 or line[0] != "CONNECT":
                    self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                    return
                host, _, port = line[1].rpartition(":")
                proxy.tunnels.append(line[1])
                with socket.create_connection((host, int(port)), timeout=30) as upstream:
                    self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    self.wfile.flush()
                    _pump(self.connection, upstream)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        threading.Thread(target=server.serve_forever, name="connect-proxy", daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ConnectProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _pump(a: socket.socket, b: socket.socket) -> None:
    while True:
        ready, _, _ = select.select([a, b], [], [], 30)
        if not ready:
            return
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)
