"""The HTTP client of the relay: one urllib3 pool manager per worker process (and thread pool),
keep-alive connections reused, TLS 1.2 or newer, no redirects, no proxies from the environment,
bounded time and answer size, and the SSRF check made on the resolution each new connection
actually uses (see :mod:`webhooks.outbound.ssrf`).
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.util.ssl_ import create_urllib3_context

from backoffice.ssrf import pool_classes

# An acknowledgement is ~100 bytes; anything past this is not read (and the connection dropped).
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 2000
USER_AGENT = "SIBS-Backoffice-Webhooks/1"


def tls_context() -> ssl.SSLContext:
    context = create_urllib3_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_default_certs()
    return context


class Client(urllib3.PoolManager):
    """Keep-alive pools per endpoint whose connections are checked against the SSRF rules, TLS
    1.2 or newer, no proxies, no redirects, no retries. urllib3 directly: ``requests`` on top of
    it costs about a millisecond of CPU per POST, more than the rest of a delivery together."""

    def __init__(self, pool_size: int = 16) -> None:
        super().__init__(
            num_pools=64,
            maxsize=pool_size,
            block=False,
            retries=False,
            ssl_context=tls_context(),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", "Connection": "keep-alive"},
        )
        # The shared outbound guard, lifted by WEBHOOK_ALLOW_PRIVATE_URLS.
        self.pool_classes_by_scheme = pool_classes("WEBHOOK_ALLOW_PRIVATE_URLS")

    @property
    def ssl_context(self) -> ssl.SSLContext:
        return self.connection_pool_kw["ssl_context"]


def new_session(pool_size: int = 16) -> Client:
    return Client(pool_size=pool_size)


_session: Client | None = None
_session_pid = 0
_lock = threading.Lock()


def session() -> Client:
    """This process's client (a forked worker child gets its own)."""
    global _session, _session_pid
    if _session is not None and _session_pid == os.getpid():
        return _session
    with _lock:
        if _session is None or _session_pid != os.getpid():
            _session = new_session(pool_size=max(16, settings.WEBHOOK_SEND_THREADS * 2))
            _session_pid = os.getpid()
        return _session


@dataclass
class PostResult:
    http_status: int | None = None
    body: bytes = b""
    error: str = ""
    duration_ms: int = 0
    tls_version: str = ""
    reachable: bool = False

    @property
    def excerpt(self) -> str:
        return self.body[:EXCERPT_CHARS].decode("utf-8", "replace").replace("\x00", "\ufffd")


def post(url: str, *, data: str, headers: dict[str, str], http: Client | None = None) -> PostResult:
    """POST and read at most MAX_RESPONSE_BYTES of the answer, within the connect + read timeouts
    (a server trickling its answer is cut off at that total). Never raises for network trouble."""
    connect_timeout = settings.WEBHOOK_CONNECT_TIMEOUT
    read_timeout = settings.WEBHOOK_READ_TIMEOUT
    deadline_seconds = connect_timeout + read_timeout
    started = time.monotonic()
    result = PostResult()
    http = http or session()
    try:
        response = http.urlopen(
            "POST",
            url,
            body=data.encode("ascii"),
            headers={**http.headers, **headers},
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            redirect=False,
            retries=False,
            preload_content=False,
        )
    except urllib3.exceptions.LocationValueError as error:
        result.error = f"{type(error).__name__}: {_reason(error)}"
    except urllib3.exceptions.SSLError as error:
        result.reachable = True
        result.error = f"TLS error: {_reason(error)}"
    except urllib3.exceptions.NewConnectionError as error:
        # In urllib3 2 a NewConnectionError is also a ConnectTimeoutError: ask it first.
        result.error = _connection_error(error)
    except urllib3.exceptions.ConnectTimeoutError:
        result.error = f"connection timed out after {connect_timeout} s"
    except urllib3.exceptions.ReadTimeoutError:
        result.reachable = True
        result.error = f"no answer within {read_timeout} s"
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ProxyError) as error:
        result.error = _connection_error(error)
        result.reachable = "RemoteDisconnected" in result.error or "reset" in result.error.lower()
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        result.error = f"{type(error).__name__}: {_reason(error)}"
    else:
        result.reachable = True
        result.http_status = response.status
        result.tls_version = _tls_version(response)
        try:
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read(8192)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    result.error = f"answer larger than {MAX_RESPONSE_BYTES} bytes; not read further"
                    break
                if time.monotonic() - started > deadline_seconds:
                    result.error = f"answer not complete within {deadline_seconds} s"
                    break
            result.body = b"".join(chunks)[: MAX_RESPONSE_BYTES + 1]
        except (urllib3.exceptions.HTTPError, OSError) as error:
            result.error = f"answer cut off: {_reason(error)}"
        if result.error:
            response.close()  # the rest is not drained: drop the connection
        else:
            response.release_conn()
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def _tls_version(response) -> str:
    try:
        sock = response.connection.sock
        return sock.version() or "" if isinstance(sock, ssl.SSLSocket) else ""
    except Exception:
        return ""


def _reason(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    return text[:300]


def _connection_error(error: BaseException) -> str:
    text = str(error)
    if "address refused" in text:
        start = text.index("address refused")
        return text[start:].split("'))")[0].split('"))')[0][:300]
    if "cannot resolve" in text or "NameResolution" in text or "Name or service not known" in text:
        return "the host name cannot be resolved"
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the server closed the connection without answering (RemoteDisconnected)"
    if "reset" in text.lower():
        return "the connection was reset"
    return f"connection failed: {text[:300]}"
