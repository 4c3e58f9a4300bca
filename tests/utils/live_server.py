"""The real app served by uvicorn on 127.0.0.1 (a free port, in a thread) for browser and client tests."""

from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
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


_templates: dict[bool, Path] = {}


def _template(indexed: bool) -> Path:
    """A seeded data dir (and, if ``indexed``, its vector index) built once per test process and copied
    for every server: embedding the seed catalog is the slow part of starting one."""
    if indexed not in _templates:
        root = Path(tempfile.mkdtemp(prefix="live-template-"))
        atexit.register(shutil.rmtree, root, True)
        container = Container(Settings(data_dir=root / "data", environment="test"))
        try:
            container.seed_if_empty()
            if indexed:
                container.matcher.sync()
        finally:
            container.close()
        _templates[indexed] = root / "data"
    return _templates[indexed]


def prepared_container(data_dir: Path, *, indexed: bool = True, **settings: object) -> Container:
    """A container on a copy of the seeded (and indexed) store; the caller closes it."""
    shutil.copytree(_template(indexed), data_dir)
    container = Container(Settings(data_dir=data_dir, environment="test", **settings))  # type: ignore[arg-type]
    if indexed:
        container.matcher.sync()  # open the index now, so no request waits on it
    return container


@contextmanager
def live_server(data_dir: Path, *, warm_matcher: bool = True, **settings: object) -> Iterator[LiveServer]:
    """Serve a copy of the seeded store (indexed when ``warm_matcher``) in ``data_dir`` with uvicorn in a
    thread; stop it on exit."""
    container = prepared_container(data_dir, indexed=warm_matcher, **settings)
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
