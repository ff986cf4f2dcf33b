"""A small real TCP proxy between the service and PostgreSQL, which a test can cut.

The service is configured with the proxy's address; every byte goes through real
sockets to the real PostgreSQL. `cut("refuse")` resets every open connection and
stops listening (connection refused, as when PostgreSQL is down); `cut("blackhole")`
stops forwarding on open connections and holds new ones without an answer (as when
the network in between fails silently). `restore()` listens and forwards again; after
a black hole the held bytes flow on, as they do when a network heals.

The machine's PostgreSQL is never touched: other tests go on using it.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Literal

Mode = Literal["up", "refuse", "blackhole"]


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv on it
    except OSError:
        pass
    sock.close()


class _Pair:
    def __init__(self, proxy: TcpProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream: socket.socket | None = None
        self.closed = False

    def connect(self) -> None:
        try:
            self.upstream = socket.create_connection(self.proxy.upstream, timeout=10)
            self.upstream.settimeout(None)
        except OSError:
            self.close()
            return
        for src, dst in ((self.client, self.upstream), (self.upstream, self.client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True,
                             name="proxy-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                # In a black hole the bytes wait here until the network "heals".
                while self.proxy.mode == "blackhole" and not self.closed:
                    time.sleep(0.02)
                if self.closed:
                    break
                dst.sendall(data)
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)
        self.proxy._forget(self)


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode: Mode = "up"
        self.connections = 0  # accepted since the start
        self._pairs: set[_Pair] = set()
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._closed = False
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self._listen()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(self.address)
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name="proxy-accept").start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed (refuse, or the end)
            with self._lock:
                self.connections += 1
                if self.mode == "blackhole":
                    self._held.append(client)
                    continue
                pair = _Pair(self, client)
                self._pairs.add(pair)
            pair.connect()

    def _forget(self, pair: _Pair) -> None:
        with self._lock:
            self._pairs.discard(pair)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def cut(self, mode: Literal["refuse", "blackhole"]) -> None:
        with self._lock:
            self.mode = mode
            pairs = list(self._pairs)
            listener = self._listener
            if mode == "refuse":
                self._listener = None
        if mode == "refuse":
            if listener is not None:
                listener.close()
            for pair in pairs:
                pair.close()

    def restore(self) -> None:
        with self._lock:
            was = self.mode
            self.mode = "up"
            held, self._held = self._held, []
        if was == "refuse":
            self._listen()
        for client in held:  # connections that waited in the black hole go through now
            pair = _Pair(self, client)
            with self._lock:
                self._pairs.add(pair)
            pair.connect()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.mode = "up"
            pairs = list(self._pairs)
            held, self._held = self._held, []
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for pair in pairs:
            pair.close()
        for client in held:
            _reset(client)
