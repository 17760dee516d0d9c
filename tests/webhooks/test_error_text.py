"""Stored delivery errors are shown in the reader's language."""

from __future__ import annotations

from django.utils import translation

from webhooks.outbound.error_text import error_text


def test_known_errors_are_said_in_portuguese_and_unknown_ones_kept():
    with translation.override("pt"):
        assert (
            error_text("not acknowledged: HTTP status 400, expected 200")
            == "sem confirmação: a resposta foi HTTP 400 em vez de 200"
        )
        assert error_text("no answer within 10 s") == "sem resposta em 10 s"
        assert error_text("ConnectionResetError: peer reset") == "ConnectionResetError: peer reset"
        assert error_text("") == ""
    with translation.override("en"):
        assert error_text("not acknowledged: empty body") == "not acknowledged: the answer was empty"
