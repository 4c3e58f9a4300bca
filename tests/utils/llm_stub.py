"""A local OpenAI-compatible chat server for tests: 127.0.0.1, a free port, a daemon thread, no network.

It lets tests run the real ``langchain_openai.ChatOpenAI`` → ``openai`` → HTTP path and script what the
"model" answers, while recording every request body for assertions (privacy, parameters sent).

Usage::

    from tests.utils.llm_stub import LLMStub, Reply

    with LLMStub() as stub:                        # or the ``llm_stub`` fixture in tests/conftest.py style
        settings = Settings(llm_base_url=stub.base_url, llm_model=stub.model, llm_timeout=2)
        stub.push(Reply.structured({"goals": [...]}))  # answers are consumed first in, first out
        stub.push(Reply.text("<think>…</think>{...}"))  # raw message content
        stub.push(Reply.error(500))                     # HTTP 500 with an OpenAI-style error body
        stub.push(Reply.reject("response_format json_schema is not supported"))  # HTTP 400
        stub.push(Reply.hang(5.0))                      # answers only after 5 s (exercise client timeouts)
        stub.default = Reply.text("好的")               # when the queue is empty (this is the initial default)
        stub.responder = lambda body: Reply.text("…")   # or decide from each request (overrides queue/default)
        ...
        stub.requests          # JSON bodies of every POST /v1/chat/completions, in order
        stub.sent_text()       # every message content / tool text of every request, joined (for privacy checks)
        stub.last()            # the last request body

Endpoints: ``POST /v1/chat/completions`` (plain JSON, or Server-Sent Events when the body has ``"stream": true``)
and ``GET /v1/models``. ``Reply.structured(obj)`` adapts to the request the way real servers do: when the request
carries ``tools`` (LangChain ``method="function_calling"``) it answers with a call of the first tool whose
arguments are ``obj``; otherwise (``json_schema`` / ``json_mode`` / no format) the JSON is the message content.
``Reply.tool_call(name, args)`` and ``Reply.text(content)`` give exact control.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer of the stub server."""

    kind: str  # text | structured | tool_call | error | hang
    content: str | None = ""
    payload: Any = None
    tool_name: str = ""
    status: int = 200
    delay: float = 0.0
    then: Reply | None = None
    finish_reason: str = "stop"
    extra_message: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def text(cls, content: str | None, **extra_message: Any) -> Reply:
        """Message content as given (``None`` → JSON null). ``extra_message`` adds keys to the message."""
        return cls("text", content=content, extra_message=extra_message)

    @classmethod
    def structured(cls, payload: Any) -> Reply:
        """``payload`` as a tool call when the request offers tools, else as JSON message content."""
        return cls("structured", payload=payload)

    @classmethod
    def tool_call(cls, name: str, arguments: Any) -> Reply:
        """A call of tool ``name``; ``arguments`` is JSON-encoded unless it is already a string."""
        return cls("tool_call", payload=arguments, tool_name=name)

    @classmethod
    def error(cls, status: int = 500, message: str = "internal error") -> Reply:
        return cls("error", status=status, content=message)

    @classmethod
    def reject(cls, message: str = "unsupported parameter", status: int = 400) -> Reply:
        """A 4xx the way servers refuse an unsupported ``response_format`` or ``tools``."""
        return cls("error", status=status, content=message)

    @classmethod
    def hang(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Wait ``seconds`` (released early when the stub stops), then answer ``then``."""
        return cls("hang", delay=seconds, then=then or cls.text("{}"))


Responder = Callable[[dict[str, Any]], Reply]


class LLMStub:
    """The server; start with ``with LLMStub() as stub`` (or ``start()`` / ``stop()``)."""

    def __init__(self, model: str = "stub-model") -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.queue: deque[Reply] = deque()
        self.default: Reply = Reply.text("好的")
        self.responder: Responder | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1`` — what ``ASSISTANT_LLM_BASE_URL`` should be."""
        assert self._server is not None, "stub not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def push(self, *replies: Reply) -> LLMStub:
        with self._lock:
            self.queue.extend(replies)
        return self

    def last(self) -> dict[str, Any]:
        return self.requests[-1]

    def sent_text(self) -> str:
        """All text the client sent: message contents, tool call arguments, tool/format schemas excluded."""
        parts: list[str] = []
        for body in self.requests:
            for message in body.get("messages", []):
                content = message.get("content")
                if isinstance(content, str):
                    parts.append(content)
                elif isinstance(content, list):
                    parts.extend(str(block.get("text", "")) for block in content if isinstance(block, dict))
                for call in message.get("tool_calls") or []:
                    parts.append(str(call.get("function", {}).get("arguments", "")))
        return "\n".join(parts)

    def start(self) -> LLMStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": stub.model, "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                body = json.loads(raw or b"{}")
                reply = stub._next(body)
                if reply.kind == "hang":
                    stub._stopping.wait(reply.delay)
                    reply = reply.then or Reply.text("{}")
                # the client may have given up (timeout): then there is nobody to answer
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    stub._answer(self, body, reply)

            def _json(self, status: int, data: Any) -> None:
                payload = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="llm-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LLMStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering ------------------------------------------------------------------------------------

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self.responder is not None:
                return self.responder(body)
            return self.queue.popleft() if self.queue else self.default

    def _message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        kind, payload, name = reply.kind, reply.payload, reply.tool_name
        if kind == "structured":
            tools = body.get("tools") or []
            if tools:
                kind, name = "tool_call", tools[0]["function"]["name"]
            else:
                message["content"] = json.dumps(payload, ensure_ascii=False)
        if kind == "tool_call":
            arguments = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ]
        message.update(reply.extra_message)
        return message

    def _answer(self, handler: Any, body: dict[str, Any], reply: Reply) -> None:
        if reply.kind == "error":
            handler._json(
                reply.status,
                {"error": {"message": reply.content, "type": "stub_error", "code": reply.status}},
            )
            return
        message = self._message(body, reply)
        finish = "tool_calls" if message.get("tool_calls") else reply.finish_reason
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"
        created = int(time.time())
        if not body.get("stream"):
            handler._json(
                200,
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": body.get("model") or self.model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                },
            )
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()

        def event(delta: dict[str, Any], finish_reason: str | None = None) -> None:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model") or self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            handler.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            handler.wfile.flush()

        event({"role": "assistant", "content": ""})
        if message.get("tool_calls"):
            calls = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
            event({"tool_calls": calls})
        content = message.get("content") or ""
        for start in range(0, len(content), 4):
            event({"content": content[start : start + 4]})
        event({}, finish)
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()
        handler.close_connection = True
