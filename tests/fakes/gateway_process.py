"""A gateway in a process of its own, as a second Lambda instance would be: the app from
`create_app(Settings.from_env())` under uvicorn on a free loopback port, which it prints.

    python -m tests.fakes.gateway_process
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from onerouter.api.app import create_app
from onerouter.settings import Settings


def main() -> None:
    app = create_app(Settings.from_env())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
