"""A merchant endpoint on loopback for outbound webhook tests (and the delivery benchmark).

It speaks HTTP/1.1 with keep-alive, decrypts each notification with the webhook's key exactly
as a merchant integrated with SIBS would, and answers with the acknowledgement, or misbehaves
on demand. Behaviours, per request, taken from ``script`` (a queue) or else ``mode``:

``ack`` (statusCode "200"), ``ack000`` (statusCode "000"), ``wrong_id`` (echoes another
notificationID), ``status500``, ``not_json``, ``slow`` (sleeps ``slow_seconds`` then acks),
``close`` (closes the connection without answering), ``redirect`` (302 to another path),
``big`` (a 1 MB body), ``undecryptable`` (answers 400 as if the key were wrong: used to check
what a wrong key looks like from the other side).

Usage::

    with LoopbackEndpoint(key) as server:
        url = server.url          # http://127.0.0.1:<port>/hook
        server.mode = "status500"
        ...
        server.received           # decrypted notifications (dicts), in arrival order

``tls=TlsFiles`` (see :func:`make_tls_files`) serves HTTPS with a certificate for 127.0.0.1 and
localhost signed by a throw-away CA; the client must be told to trust that CA (tests only).

``python -m tests.webhooks.endpoint --key <base64> --port 0`` runs one in the foreground and
prints its URL (the benchmark runs it in its own process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import ssl
import sys
import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from payments.sibs.ack import build_ack_body
from payments.sibs.envelope import EnvelopeError, decrypt_request

MODES = ("ack", "ack000", "wrong_id", "status500", "not_json", "slow", "close", "redirect", "big", "undecryptable")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        owner = self.server.owner
        owner.requests += 1
        mode = owner.next_mode()
        if mode == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "redirect":
            self._answer(302, b"", extra={"Location": "/elsewhere"})
            return
        try:
            plaintext = decrypt_request(body=body, headers=dict(self.headers), secrets=[owner.key]).plaintext
            payload = json.loads(plaintext)
        except (EnvelopeError, ValueError) as error:
            owner.rejected.append(str(error))
            self._answer(400, b'{"error":"cannot decrypt"}')
            return
        if mode == "undecryptable":
            self._answer(400, b'{"error":"cannot decrypt"}')
            return
        with owner.lock:
            owner.received.append(payload)
            owner.headers.append(dict(self.headers))
        notification_id = payload.get("notificationID", "")
        if mode == "slow":
            time.sleep(owner.slow_seconds)
        if mode == "status500":
            self._answer(500, b'{"error":"boom"}')
        elif mode == "not_json":
            self._answer(200, b"OK")
        elif mode == "wrong_id":
            self._answer(200, build_ack_body("00000000-0000-0000-0000-000000000000"))
        elif mode == "big":
            self._answer(200, b"x" * 1_000_000)
        elif mode == "ack000":
            self._answer(200, build_ack_body(notification_id, status_code="000"))
        else:
            self._answer(200, build_ack_body(notification_id))

    def _answer(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, owner: LoopbackEndpoint) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


@dataclass(frozen=True)
class TlsFiles:
    ca_pem: str  # the CA certificate, PEM text: what a test client is told to trust
    cert_file: str  # the server certificate chain (PEM file)
    key_file: str  # the server key (PEM file)


def make_tls_files(directory: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """A throw-away CA and a server certificate it signed, for ``hosts`` (IP or DNS names)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loopback test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file.write_text(cert.public_bytes(serialization.Encoding.PEM).decode() + ca_pem)
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return TlsFiles(ca_pem=ca_pem, cert_file=str(cert_file), key_file=str(key_file))


class LoopbackEndpoint:
    def __init__(
        self,
        key: str,
        *,
        mode: str = "ack",
        port: int = 0,
        path: str = "/hook",
        tls: TlsFiles | None = None,
        tls_max_version: ssl.TLSVersion | None = None,
    ) -> None:
        self.key = key
        self.mode = mode
        self.script: deque[str] = deque()
        self.slow_seconds = 3.0
        self.path = path
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.rejected: list[str] = []
        self.requests = 0
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), self)
        self.port = self._server.server_address[1]
        self.tls = tls
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert_file, tls.key_file)
            if tls_max_version is not None:  # an outdated server, to check the client refuses it
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
                    context.maximum_version = tls_max_version
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-endpoint", daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{self.path}"

    def next_mode(self) -> str:
        with self.lock:
            return self.script.popleft() if self.script else self.mode

    def start(self) -> LoopbackEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def received_ids(self) -> list[str]:
        with self.lock:
            return [p.get("notificationID") for p in self.received]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", default="ack", choices=MODES)
    args = parser.parse_args(argv)
    server = LoopbackEndpoint(args.key, mode=args.mode, port=args.port)
    print(server.url, flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print(f"requests={server.requests} received={len(server.received)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
