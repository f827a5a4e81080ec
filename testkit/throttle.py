"""A TCP relay on 127.0.0.1 that forwards to a real server at a limited rate, so a test can kill an export
or an import half-way, or fill the disk under it, at a moment it chooses. TLS passes through untouched
(the test registries' certificates name 127.0.0.1, whatever the port). ``rate`` can be changed while it
runs (None: as fast as it goes). ``delay`` holds every chunk that long in each direction (a network's
round trip is twice it), for benchmarks of what latency does; loopback has none. ``drop_first`` connections
are closed as soon as they are accepted, before a byte: a TLS handshake broken by the network."""

from __future__ import annotations

import queue
import socket
import threading
import time
from typing import Any

CHUNK = 16 << 10


class Throttle:
    def __init__(self, target: str, rate: float | None = 1 << 20, delay: float = 0.0, drop_first: int = 0) -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.rate = rate
        self.delay = delay
        self.drop_first = drop_first
        self.accepted = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Throttle:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        sock.settimeout(0.2)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        threading.Thread(target=self._accept, name="throttle", daemon=True).start()
        return self

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.accepted <= self.drop_first:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=30)
            except OSError:
                client.close()
                continue
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _wait(self, n: int) -> None:
        """Keep each connection's direction at about ``rate`` bytes per second."""
        with self._lock:
            self.bytes += n
            rate = self.rate
        if rate:
            time.sleep(n / rate)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        """Relay one direction: read, hold for ``delay`` (a thread of its own sends, so that holding does
        not slow the reading: a round trip, not a rate), send; at the end shut both sockets down."""
        src.settimeout(60)
        held: queue.Queue[tuple[float, bytes]] = queue.Queue(maxsize=64)  # back-pressure, as a socket has
        sender = threading.Thread(target=self._send_held, args=(held, src, dst), daemon=True)
        sender.start()
        try:
            while not self._stop.is_set():
                data = src.recv(CHUNK)
                if not data:
                    break
                self._wait(len(data))
                held.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        finally:
            held.put((0.0, b""))
            sender.join()
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    @staticmethod
    def _send_held(held: queue.Queue[tuple[float, bytes]], src: socket.socket, dst: socket.socket) -> None:
        """Send each chunk once its delay is over, until the empty chunk that ends the direction; when the
        other end is gone, stop the reading too."""
        failed = False
        while True:
            due, data = held.get()
            if not data:
                return
            if failed:
                continue  # keep taking chunks so the reader is never stuck on a full queue
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                dst.sendall(data)
            except OSError:
                failed = True
                try:
                    src.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Throttle:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
