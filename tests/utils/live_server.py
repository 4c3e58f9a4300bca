"""The real app served by uvicorn on 127.0.0.1 (a free port, in a thread) for browser and client tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from assistant.app.container import Container
from assistant.app.main import create_app
from assistant.auth.service import create_user
from assistant.config import Settings


@dataclass
class LiveServer:
    url: str
    container: Container
    tokens: dict[str, str] = field(default_factory=dict)

    def user(self, name: str, role: str, county: str = "420200") -> str:
        """Create a user and return their token (kept in ``tokens`` under ``name``)."""
        with self.container.db.session() as session:
            _, token = create_user(session, name=name, role=role, county=county)
        self.tokens[name] = token
        return token


@contextmanager
def live_server(data_dir: Path, *, warm_matcher: bool = True, **settings: object) -> Iterator[LiveServer]:
    """Seed a store in ``data_dir``, serve it with uvicorn in a thread, stop it on exit."""
    container = Container(Settings(data_dir=data_dir, environment="test", **settings))  # type: ignore[arg-type]
    container.seed_if_empty()
    if warm_matcher:
        # Build the index before the first request so that no browser step waits on it.
        _ = container.matcher
    app = create_app(container=container)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("测试服务器未能启动")
        time.sleep(0.1)
    try:
        yield LiveServer(url=url, container=container)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        container.close()
