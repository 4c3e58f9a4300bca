"""API throughput: uvicorn on 127.0.0.1 (started here, on a temporary store), N concurrent clients
sending a bounded number of ``POST /api/match`` requests. Prints requests/s and latency p50/p95.

    python bench/api_throughput.py [--clients 8] [--requests 200] [--resources 197] [--workers 1]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import assessments, bench_settings, median, percentile, seed_rows, variants

from assistant.app.container import Container
from assistant.auth.service import create_user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(data_dir: Path, resources: int) -> str:
    """Load the catalog and create a citywide caseworker; returns the token. The server builds the index."""
    settings = bench_settings(data_dir)
    container = Container(settings)
    try:
        report = container.catalog.import_resources(variants(seed_rows(settings), resources), None, "bench")
        if not report.ok:
            raise SystemExit(f"导入失败：{report.errors[:3]}")
        with container.db.session() as session:
            _, token = create_user(session, name="bench", role="caseworker", county="420200", actor="bench")
        return token
    finally:
        container.close()


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server not ready within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--resources", type=int, default=197, help="catalog size (seed + generated variants)")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers (>1 needs ASSISTANT_CHROMA_URL)"
    )
    parser.add_argument("--startup-timeout", type=float, default=900)
    args = parser.parse_args()
    if args.workers > 1 and not os.environ.get("ASSISTANT_CHROMA_URL"):
        raise SystemExit(
            "--workers > 1 needs a Chroma server (ASSISTANT_CHROMA_URL): embedded Chroma is one process"
        )

    bodies = [
        {
            "text": row["text"],
            "county": row["county"],
            "groups": row.get("groups") or [],
            "age": row.get("age"),
        }
        for row in assessments(10_000)
    ]
    with tempfile.TemporaryDirectory(prefix="assistant-bench-api-") as tmp:
        token = prepare(Path(tmp), args.resources)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "ASSISTANT_DATA_DIR": tmp,
            "ASSISTANT_ENVIRONMENT": "test",
            "ASSISTANT_EMBEDDING_CACHE_ENTRIES": "0",  # requests cycle through the cases: no cached vectors
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "assistant.app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        try:
            ready = wait_ready(base, server, args.startup_timeout)
            print(f"server ready in {ready:.1f} s ({args.resources} resources, {args.workers} worker(s))")
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as warm:
                for body in bodies[:3]:
                    warm.post("/api/match", json=body).raise_for_status()

            counter = itertools.count()
            lock = threading.Lock()
            latencies: list[float] = []
            failures: list[str] = []

            def client() -> None:
                with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
                    while (i := next(counter)) < args.requests:
                        started = time.perf_counter()
                        try:
                            response = http.post("/api/match", json=bodies[i % len(bodies)])
                            ok = response.status_code == 200
                            problem = f"{response.status_code} {response.text[:100]}"
                        except httpx.HTTPError as exc:
                            ok, problem = False, repr(exc)
                        with lock:
                            (
                                latencies.append((time.perf_counter() - started) * 1000)
                                if ok
                                else failures.append(problem)
                            )

            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()

    print(f"{len(latencies)} ok, {len(failures)} failed, {args.clients} concurrent clients, {wall:.1f} s")
    print(f"throughput {len(latencies) / wall:.2f} requests/s")
    print(f"latency p50 {median(latencies):.0f} ms   p95 {percentile(latencies, 95):.0f} ms")
    if failures:
        print("first failures:", *failures[:3], sep="\n  ")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
