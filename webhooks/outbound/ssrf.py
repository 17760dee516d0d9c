"""Where a webhook may point: the rules checked when it is saved and again at every connection.

* ``https`` (port 443), or ``http`` (port 80) where ``WEBHOOK_ALLOW_HTTP``; SIBS only delivers
  to those two ports, and so do we. No user name or password in the URL, no fragment.
* The host must resolve, and *every* address it resolves to must be public: private, loopback,
  link-local, carrier-grade NAT, multicast, reserved and unspecified addresses are refused,
  including IPv4 addresses mapped into IPv6 and the numeric spellings ``getaddrinfo`` accepts
  (``2130706433``, ``0x7f.1``). ``WEBHOOK_ALLOW_PRIVATE_URLS`` (development, the sandbox) lifts
  this, and then any port is allowed on a non-public address.
* At send time the address is checked again on the very resolution used to connect
  (:func:`checked_addresses` is called from the connection itself, see ``transport``), so a
  name that resolved to a public address when saved and to 127.0.0.1 later (DNS rebinding)
  is refused, and there is no window between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from backoffice import ssrf as guard
from backoffice.ssrf import BlockedAddressError, is_public
from backoffice.ssrf import ip_literal as _ip_literal
from backoffice.ssrf import resolve as _resolve

__all__ = ["BlockedAddressError", "checked_addresses", "is_public", "validate_webhook_url"]

MAX_URL_LENGTH = 2048
_DEFAULT_PORT = {"https": 443, "http": 80}


def _allow_private(allow_private: bool | None) -> bool:
    return settings.WEBHOOK_ALLOW_PRIVATE_URLS if allow_private is None else allow_private


def checked_addresses(host: str, port: int, *, allow_private: bool | None = None) -> list[tuple[int, str]]:
    """Resolve host and check every address (the shared guard, with the webhooks' setting)."""
    return guard.checked_addresses(host, port, allow_private=_allow_private(allow_private))


def validate_webhook_url(
    url: str,
    *,
    allow_private: bool | None = None,
    allow_http: bool | None = None,
    resolve: bool = True,
) -> str:
    """The URL, stripped, if a webhook may point there; otherwise ValidationError.

    ``resolve=False`` checks the form only (and IP literals), for a quick form check without DNS.
    """
    allow_private = _allow_private(allow_private)
    allow_http = settings.WEBHOOK_ALLOW_HTTP if allow_http is None else allow_http
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(_("Enter the URL of your endpoint."), code="required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(_("The URL is too long (at most %(n)d characters).") % {"n": MAX_URL_LENGTH})
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValidationError(_("The URL contains spaces or control characters."), code="invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(_("This is not a valid URL."), code="invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORT:
        raise ValidationError(_("The URL must start with https://."), code="scheme")
    if scheme == "http" and not allow_http:
        raise ValidationError(_("The URL must use https:// (plain http is not allowed here)."), code="scheme")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(_("The URL must not contain a user name or password."), code="credentials")
    if parts.fragment:
        raise ValidationError(_("The URL must not contain a fragment (#...)."), code="invalid")
    host = parts.hostname
    if not host:
        raise ValidationError(_("The URL has no host name."), code="invalid")
    try:
        host.encode("idna")
    except UnicodeError:
        raise ValidationError(_("The host name is not valid."), code="invalid") from None
    port = port or _DEFAULT_PORT[scheme]

    literal = _ip_literal(host)
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    if literal is not None:
        addresses = [literal]
    elif resolve:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for _f, a in _resolve(host, port)]
        except (socket.gaierror, UnicodeError, OSError):
            raise ValidationError(
                _("The host name %(host)s cannot be resolved.") % {"host": host}, code="unresolvable"
            ) from None
    private = any(not is_public(a) for a in addresses)
    if private and not allow_private:
        raise ValidationError(
            _("The URL points to a private, loopback or reserved address, which is not allowed."), code="private"
        )
    if port not in (443, 80) and not (allow_private and addresses and private):
        raise ValidationError(_("The URL must use port 443 or 80."), code="port")
    return url
