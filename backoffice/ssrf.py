"""The one guard for outbound connections to addresses people type in (webhook URLs, a gateway
credential's custom API root).

The host must resolve, and *every* address it resolves to must be public: private, loopback,
link-local, carrier-grade NAT, multicast, reserved and unspecified addresses are refused,
including IPv4 addresses mapped into IPv6 and the numeric spellings ``getaddrinfo`` accepts
(``2130706433``, ``0x7f000001``, ``127.1``). The check is made when the address is saved and
again on the very resolution each connection uses (:func:`guarded_adapter`), so a name that
resolved to a public address when saved and to 127.0.0.1 later (DNS rebinding) is refused, and
there is no window between the check and the connection.

Each user of the guard names the setting that may lift it (``WEBHOOK_ALLOW_PRIVATE_URLS``,
``GATEWAY_ALLOW_PRIVATE_URLS``: on in development, where the sandbox runs on localhost).
"""

from __future__ import annotations

import functools
import ipaddress
import socket

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection


class BlockedAddressError(OSError):
    """A host resolved to an address that is not allowed (raised while connecting)."""


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
        if address.teredo is not None:
            return False
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    return address.is_global


def resolve(host: str, port: int) -> list[tuple[int, str]]:
    """(family, address) pairs for host, in resolver order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[tuple[int, str]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        item = (family, sockaddr[0])
        if item not in seen:
            seen.append(item)
    return seen


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[tuple[int, str]]:
    """Resolve host and check every address; raise :class:`BlockedAddressError` or
    ``socket.gaierror``."""
    addresses = resolve(host, port)
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    if not allow_private:
        for _family, text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            if not is_public(address):
                raise BlockedAddressError(
                    f"{host} resolves to {address}, a private, loopback or reserved address; refused"
                )
    return addresses


def host_is_private(host: str, port: int) -> bool:
    """True when host is, or resolves to, any address that is not public. Raises
    ``socket.gaierror``/``UnicodeError``/``OSError`` when it cannot be resolved."""
    literal = ip_literal(host)
    if literal is not None:
        return not is_public(literal)
    return any(not is_public(ipaddress.ip_address(a.split("%", 1)[0])) for _f, a in resolve(host, port))


def _connect_checked(conn: HTTPConnection, allow_private: bool) -> socket.socket:
    """Resolve, refuse disallowed addresses, connect to the first address that answers."""
    try:
        addresses = checked_addresses(conn._dns_host, conn.port, allow_private=allow_private)
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
        except OSError as error:
            last = error
    if isinstance(last, TimeoutError):
        raise ConnectTimeoutError(conn, f"connection to {conn.host} timed out") from last
    raise NewConnectionError(conn, f"failed to connect to {conn.host}: {last}") from last


@functools.cache
def pool_classes(setting: str) -> dict[str, type]:
    """urllib3 pool classes, by scheme, whose every new connection goes through the guard;
    ``setting`` names the boolean setting that allows private addresses."""

    def allowed() -> bool:
        return bool(getattr(settings, setting))

    class CheckedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_checked(self, allowed())

    class CheckedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _connect_checked(self, allowed())

    class CheckedHTTPPool(HTTPConnectionPool):
        ConnectionCls = CheckedHTTPConnection

    class CheckedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPSConnection

    return {"http": CheckedHTTPPool, "https": CheckedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose every new connection goes through the guard; ``setting`` names
    the boolean setting that allows private addresses. No proxies."""

    def __init__(self, *args, setting: str, ssl_context=None, **kwargs):
        self.guard_setting = setting
        self.ssl_context = ssl_context
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        if self.ssl_context is not None:
            pool_kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = pool_classes(self.guard_setting)
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)

    def proxy_manager_for(self, proxy, **proxy_kwargs):  # pragma: no cover - proxies are off
        from requests.exceptions import InvalidURL

        raise InvalidURL("guarded connections never go through a proxy")
