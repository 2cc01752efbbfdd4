"""A TCP proxy on loopback in front of a real server (PostgreSQL), which a test can stall
(connections stay open, nothing is forwarded: a hung network) or cut (every connection
dropped, new ones refused for a while)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target until stalled or cut."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stalled = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> TcpProxy:
        """Start accepting."""
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop: close everything."""
        self._stopped.set()
        self._listener.close()
        self.cut()

    def stall(self) -> None:
        """Keep every connection open but forward nothing (new ones are accepted and hang)."""
        self._stalled.set()

    def resume(self) -> None:
        """Forward again."""
        self._stalled.clear()

    def cut(self) -> None:
        """Drop every open connection."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            thread = threading.Thread(target=self._pump, args=(client, server), daemon=True)
            thread.start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        try:
            while not self._stopped.is_set():
                if self._stalled.is_set():
                    self._stopped.wait(0.05)
                    continue
                readable, _, _ = select.select(list(peers), [], [], 0.05)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # cut meanwhile: select() on a closed socket raises
            return  # ValueError (its descriptor is -1), recv/send raise OSError
        finally:
            for s in (client, server):
                with contextlib.suppress(OSError):
                    s.close()
