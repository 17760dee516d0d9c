"""A tiny SIBS on 127.0.0.1 for client tests: records requests, answers what the test says."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeSibs:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        # path -> (status, body or dict, delay seconds); "*" matches any path
        self.answers: dict[str, tuple[int, Any, float]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                status, body, delay = fake.answers.get(self.path) or fake.answers.get("*") or (404, {}, 0)
                if delay:
                    time.sleep(delay)
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v2"

    def answer(self, path: str, status: int, body: Any, delay: float = 0) -> None:
        self.answers[path] = (status, body, delay)

    def __enter__(self) -> FakeSibs:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def status_body(transaction_id: str, status: str = "Success", **extra: Any) -> dict[str, Any]:
    return {
        "returnStatus": {"statusCode": "000", "statusMsg": "Success"},
        "paymentStatus": status,
        "paymentMethod": "MBWAY",
        "transactionID": transaction_id,
        "transactionDateTime": "2026-03-12T10:50:00Z",
        "amount": {"value": 16.2, "currency": "EUR"},
        "merchant": {"terminalId": 11111, "merchantTransactionId": "order"},
        "paymentType": "PURS",
        **extra,
    }
