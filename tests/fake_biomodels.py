"""A local stand-in for the BioModels REST API, failures included.

Served on 127.0.0.1 by ``http.server``; each model ID below scripts one behaviour.
Requests are logged so tests can assert what was (and was not) asked for.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from biobench.models.offline import offline_copy

REPRESSILATOR = offline_copy("BIOMD0000000012").path.read_bytes()
MAIN_FILE = "BIOMD0000000012 url.xml"  # a space, as in some real entries, to exercise URL encoding

# ID -> (metadata behaviour, download behaviour)
SCENARIOS = {
    "BIOMD0000000012": "ok",
    "BIOMD0000000404": "missing",
    "BIOMD0000000500": "error-then-ok",
    "BIOMD0000000503": "always-error",
    "BIOMD0000000429": "throttled-then-ok",
    "BIOMD0000000200": "html",
    "BIOMD0000000201": "truncated",
    "BIOMD0000000202": "json",
    "BIOMD0000000203": "onnx",
    "BIOMD0000000204": "cut-off",
}


class FakeBioModels:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.hits: Counter[str] = Counter()
        self.body_override: bytes | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        """Base URL that redirects (301) to the real API root, as www.ebi.ac.uk does."""
        return f"http://127.0.0.1:{self.httpd.server_port}/old"

    def __enter__(self) -> FakeBioModels:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str, headers: dict | None = None,
              length: int | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        if url.path.startswith("/old/"):
            h.send_response(301)
            h.send_header("Location", "/biomodels/" + h.path[len("/old/"):])
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        parts = url.path.strip("/").split("/")
        query = parse_qs(url.query)
        if parts[:3] == ["biomodels", "model", "download"] and len(parts) == 4:
            self._download(h, parts[3], query.get("filename", [""])[0])
        elif parts[0] == "biomodels" and len(parts) == 2 and query.get("format") == ["json"]:
            self._metadata(h, parts[1])
        else:
            self._send(h, 404, b"<html>not found</html>", "text/html")

    def _metadata(self, h: BaseHTTPRequestHandler, model_id: str) -> None:
        scenario = SCENARIOS.get(model_id, "missing")
        self.hits[f"meta:{model_id}"] += 1
        first = self.hits[f"meta:{model_id}"] == 1
        if scenario == "missing":
            return self._send(h, 404, b'{"errorMessage": "not found"}', "application/json")
        if scenario == "always-error" or (scenario == "error-then-ok" and first):
            return self._send(h, 500, b"<html>Internal Server Error</html>", "text/html")
        if scenario == "throttled-then-ok" and first:
            return self._send(h, 429, b"slow down", "text/plain", {"Retry-After": "0"})
        meta = {"publicationId": model_id, "name": f"Test entry {model_id}",
                "files": {"main": [{"name": MAIN_FILE, "fileSize": len(REPRESSILATOR)}], "additional": []}}
        self._send(h, 200, json.dumps(meta).encode(), "application/json")

    def _download(self, h: BaseHTTPRequestHandler, model_id: str, filename: str) -> None:
        scenario = SCENARIOS.get(model_id, "missing")
        if filename != MAIN_FILE:
            return self._send(h, 404, b"no such file", "text/plain")
        body = self.body_override or REPRESSILATOR
        if scenario == "html":
            return self._send(h, 200, b"<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html")
        if scenario == "truncated":
            return self._send(h, 200, body[: len(body) // 2], "application/xml")
        if scenario == "json":
            return self._send(h, 200, b'{"error": "use the new API"}', "application/json")
        if scenario == "onnx":
            return self._send(h, 200, b"\x08\x07\x12\x07pytorch\x00\x00\x01binary", "application/octet-stream")
        if scenario == "cut-off":  # promises more bytes than it sends, then closes
            return self._send(h, 200, body[:1000], "application/xml", length=len(body))
        self._send(h, 200, body, "application/xml")
