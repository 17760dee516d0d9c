"""Delivery errors in the reader's language.

The engine stores what went wrong as a short technical sentence in English (``last_error``:
logs, the API and support read it as is). Pages and e-mails show it through :func:`error_text`,
which recognises each sentence the engine and the acknowledgement check write and says it in
the active language; anything else (an exception's own text) is shown as it came.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

_PATTERNS = (
    (
        re.compile(r"^not acknowledged: HTTP status (?P<status>\d+), expected 200$"),
        _("not acknowledged: the answer was HTTP %(status)s instead of 200"),
    ),
    (re.compile(r"^not acknowledged: empty body$"), _("not acknowledged: the answer was empty")),
    (re.compile(r"^not acknowledged: body is not valid JSON$"), _("not acknowledged: the answer is not JSON")),
    (
        re.compile(r"^not acknowledged: body is not a JSON object$"),
        _("not acknowledged: the answer is not a JSON object"),
    ),
    (
        re.compile(r"^not acknowledged: notificationID is missing or not a string$"),
        _("not acknowledged: the answer has no notificationID"),
    ),
    (re.compile(r"^not acknowledged: (?P<reason>.+)$"), _("not acknowledged: %(reason)s")),
    (
        re.compile(r"^connection timed out after (?P<seconds>[\d.]+) s$"),
        _("could not connect within %(seconds)s s"),
    ),
    (re.compile(r"^no answer within (?P<seconds>[\d.]+) s$"), _("no answer within %(seconds)s s")),
    (re.compile(r"^TLS error: (?P<reason>.+)$"), _("secure connection (TLS) failed: %(reason)s")),
    (re.compile(r"^cannot resolve (?P<host>[^:\s]+):.*$"), _("the address %(host)s does not exist (DNS)")),
    (re.compile(r"^address refused: (?P<reason>.+)$"), _("address refused: %(reason)s")),
    (
        re.compile(r"^nothing to relay: the notification is no longer stored$"),
        _("nothing to send: the notification is no longer stored"),
    ),
    (re.compile(r"^e-mail not sent: (?P<reason>.+)$"), _("e-mail not sent: %(reason)s")),
)


def error_text(stored: str | None) -> str:
    text = (stored or "").strip()
    if not text:
        return ""
    for pattern, template in _PATTERNS:
        match = pattern.match(text)
        if match:
            return str(template) % match.groupdict()
    return text
