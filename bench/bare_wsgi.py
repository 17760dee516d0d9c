"""The limit of the web side, for ``bench/ingest.py``: a WSGI application that reads the body and
answers what the inbound endpoint answers (200 and a SIBS acknowledgement of the same size),
without Django, a database or a broker. Served by the same Granian configuration."""

from __future__ import annotations

ANSWER = b'{"statusCode":"200","statusMsg":"Success","notificationID":"00000000-0000-4000-8000-000000000000"}'


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]
