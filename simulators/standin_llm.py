"""A stand-in LLM server on loopback that speaks both wire formats (OpenAI-compatible
``/v1/chat/completions`` and Gemini's ``/v1beta/models/{model}:generateContent``).

It answers with the rule brain's proposal for the context pack it was sent, and counts tokens as
characters / 4, so cassettes for the happy paths can be recorded without any real key, and tests
exercise the real HTTP path (sockets, headers, JSON bodies). ``script`` queues canned replies
(status, body) that are served first. ``python -m simulators.standin_llm`` serves until Ctrl-C.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .brains import RuleBrain


class StandinLLM:
    def __init__(self) -> None:
        self.rules = RuleBrain()
        self.script: deque[tuple[int, Any]] = deque()
        self.requests: list[dict[str, Any]] = []  # (path, headers, body) of every request
        self._lock = threading.Lock()

    def reply(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            if self.script:
                return self.script.popleft()
        if path.endswith("/chat/completions"):
            user = next(m["content"] for m in body["messages"] if m["role"] == "user")
            text = self.rules.propose(json.loads(user))
            return 200, {"id": "chatcmpl-standin", "object": "chat.completion", "model": body.get("model"),
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": text, "refusal": None}}],
                         "usage": {"prompt_tokens": len(user) // 4, "completion_tokens": len(text) // 4,
                                   "total_tokens": len(user) // 4 + len(text) // 4}}
        if path.endswith(":generateContent"):
            user = body["contents"][-1]["parts"][0]["text"]
            text = self.rules.propose(json.loads(user))
            return 200, {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                         "finishReason": "STOP"}],
                         "usageMetadata": {"promptTokenCount": len(user) // 4,
                                           "candidatesTokenCount": len(text) // 4}}
        return 404, {"error": {"message": f"no such endpoint {path}"}}


def _handler(llm: StandinLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                status, answer = llm.reply(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            except (ValueError, KeyError, StopIteration, IndexError, TypeError):
                status, answer = 400, {"error": {"message": "malformed request"}}
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet on stderr)
            pass

    return Handler


@contextmanager
def serve(llm: StandinLLM | None = None) -> Iterator[tuple[str, StandinLLM]]:
    """``(base, llm)`` while a server listens on a free loopback port; always stopped on exit.
    ``base`` is ``http://127.0.0.1:PORT``: append ``/v1`` (openai) or ``/v1beta`` (gemini)."""
    llm = llm or StandinLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(llm))
    thread = threading.Thread(target=server.serve_forever, name="standin-llm", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", llm
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


if __name__ == "__main__":  # pragma: no cover
    import time

    with serve() as (base, _):
        print(f"stand-in LLM at {base}/v1 (openai) and {base}/v1beta (gemini); Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
