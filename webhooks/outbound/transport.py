"""The HTTP client of the relay: one ``requests.Session`` per worker process (and thread pool),
keep-alive connections reused, TLS 1.2 or newer, no redirects, no proxies from the environment,
bounded time and answer size, and the SSRF check made on the resolution each new connection
actually uses (see :mod:`webhooks.outbound.ssrf`).
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util.ssl_ import create_urllib3_context

from webhooks.outbound.ssrf import BlockedAddressError, checked_addresses

# An acknowledgement is ~100 bytes; anything past this is not read (and the connection dropped).
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 2000
USER_AGENT = "SIBS-Backoffice-Webhooks/1"


def _connect_checked(conn: HTTPConnection) -> socket.socket:
    """Resolve, refuse disallowed addresses, connect to the first address that answers."""
    try:
        addresses = checked_addresses(conn._dns_host, conn.port)
    except BlockedAddressError as error:
        raise NewConnectionError(conn, f"address refused: {error}") from error
    except (socket.gaierror, UnicodeError) as error:
        raise NewConnectionError(conn, f"cannot resolve {conn.host}: {error}") from error
    last: Exception | None = None
    for _family, address in addresses:
        try:
            return urllib3_connection.create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as error:
            last = error
        except OSError as error:
            last = error
    if isinstance(last, TimeoutError):
        from urllib3.exceptions import ConnectTimeoutError

        raise ConnectTimeoutError(conn, f"connection to {conn.host} timed out") from last
    raise NewConnectionError(conn, f"failed to connect to {conn.host}: {last}") from last


class CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


def tls_context() -> ssl.SSLContext:
    context = create_urllib3_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_default_certs()
    return context


class WebhookAdapter(HTTPAdapter):
    """Connections checked against SSRF rules, TLS 1.2 or newer."""

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["ssl_context"] = tls_context()
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": CheckedHTTPPool, "https": CheckedHTTPSPool}
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)

    def proxy_manager_for(self, proxy, **proxy_kwargs):  # pragma: no cover - proxies are off
        raise requests.exceptions.InvalidURL("webhook deliveries never go through a proxy")


def new_session(pool_size: int = 16) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies, netrc or CA bundle from the environment
    adapter = WebhookAdapter(pool_connections=64, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Connection": "keep-alive"}
    return session


_session: requests.Session | None = None
_session_pid = 0
_lock = threading.Lock()


def session() -> requests.Session:
    """This process's session (a forked worker child gets its own)."""
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


def post(url: str, *, data: str, headers: dict[str, str], http: requests.Session | None = None) -> PostResult:
    """POST and read at most MAX_RESPONSE_BYTES of the answer, within the connect + read timeouts
    (a server trickling its answer is cut off at that total). Never raises for network trouble."""
    connect_timeout = settings.WEBHOOK_CONNECT_TIMEOUT
    read_timeout = settings.WEBHOOK_READ_TIMEOUT
    deadline_seconds = connect_timeout + read_timeout
    started = time.monotonic()
    result = PostResult()
    http = http or session()
    try:
        response = http.post(
            url,
            data=data.encode("ascii"),
            headers=headers,
            timeout=(connect_timeout, read_timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.exceptions.SSLError as error:
        result.reachable = True
        result.error = f"TLS error: {_reason(error)}"
    except requests.exceptions.ConnectTimeout:
        result.error = f"connection timed out after {connect_timeout} s"
    except requests.exceptions.ReadTimeout:
        result.reachable = True
        result.error = f"no answer within {read_timeout} s"
    except requests.exceptions.ConnectionError as error:
        result.error = _connection_error(error)
        result.reachable = "RemoteDisconnected" in result.error or "reset" in result.error.lower()
    except requests.exceptions.RequestException as error:
        result.error = f"{type(error).__name__}: {_reason(error)}"
    else:
        result.reachable = True
        result.http_status = response.status_code
        result.tls_version = _tls_version(response)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(8192):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    result.error = f"answer larger than {MAX_RESPONSE_BYTES} bytes; not read further"
                    response.close()  # the rest is not drained: drop the connection
                    break
                if time.monotonic() - started > deadline_seconds:
                    result.error = f"answer not complete within {deadline_seconds} s"
                    response.close()
                    break
            result.body = b"".join(chunks)[: MAX_RESPONSE_BYTES + 1]
        except requests.exceptions.RequestException as error:
            result.error = f"answer cut off: {_reason(error)}"
            response.close()
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def _tls_version(response) -> str:
    try:
        sock = response.raw.connection.sock
        return sock.version() or "" if isinstance(sock, ssl.SSLSocket) else ""
    except Exception:
        return ""


def _reason(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    return text[:300]


def _connection_error(error: requests.exceptions.ConnectionError) -> str:
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
