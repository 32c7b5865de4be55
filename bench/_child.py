"""Helpers shared by the benchmark's child processes (fake provider, gateway)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import threading


def exit_with_parent() -> None:
    """Exit when the parent closes our stdin (it finished, crashed or was killed)."""

    def watch() -> None:
        # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside a buffered
        # reader makes interpreter shutdown abort ("could not acquire lock").
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def tcp_listener(port: int = 0) -> socket.socket:
    """A loopback listening socket whose accepted connections get TCP_NODELAY under asyncio.

    asyncio only disables Nagle on sockets whose ``proto`` is IPPROTO_TCP, and an accepted
    socket inherits the listener's: ``socket.socket(AF_INET, SOCK_STREAM)`` has proto 0, so
    responses written in two pieces (headers, body) would stall ~40 ms on delayed ACKs.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def event_loop() -> str:
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def announce(**info: object) -> None:
    """One JSON line on stdout: how the parent learns our port (and key)."""
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
