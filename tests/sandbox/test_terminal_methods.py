"""Per-terminal active methods: ``POST /payments`` answers ``paymentMethodList`` with the methods
asked for that are active for the terminal (admin, ``sandbox_configure --methods``)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sandbox.gateway import KNOWN_METHODS
from sandbox.models import SandboxPayment, SandboxTerminalMethods
from sandbox.services import terminal_methods_set
from tests.sandbox.conftest import CLIENT_ID, OTHER_TERMINAL, TERMINAL, TOKEN, checkout_body


def test_the_answer_keeps_the_active_methods(api, loja):
    terminal_methods_set(merchant=loja, terminal_id=TERMINAL, methods=["MBWAY", "XPAY"], known=KNOWN_METHODS)
    body = checkout_body(methods=["CARD", "MBWAY", "REFERENCE", "XPAY", "MANDATE"])
    response = api.checkout(body)
    assert response.status_code == 200
    assert response.data["paymentMethodList"] == ["MBWAY", "XPAY"]
    # only what is active can be executed afterwards
    assert SandboxPayment.objects.get().payment_methods == ["MBWAY", "XPAY"]
    # another terminal keeps the sandbox's defaults
    other = api.checkout(checkout_body(methods=["CARD", "XPAY"], terminal=OTHER_TERMINAL, merchant_tx="o-2"))
    assert other.data["paymentMethodList"] == ["CARD"]


def test_nothing_active_is_refused_like_sibs(api, loja):
    terminal_methods_set(merchant=loja, terminal_id=TERMINAL, methods=[], known=KNOWN_METHODS)
    response = api.checkout(checkout_body(methods=["CARD"]))
    assert response.status_code == 400
    assert response.data["returnStatus"]["statusCode"] == "12.110.1201"


def test_unknown_methods_are_still_refused(api, loja):
    response = api.checkout(checkout_body(methods=["CARD", "BITCOIN"]))
    assert response.status_code == 400 and "not supported" in response.data["returnStatus"]["statusDescription"]


def test_the_command_sets_them(loja):
    call_command(
        "sandbox_configure",
        "--client-id", CLIENT_ID, "--bearer-token", TOKEN, "--terminal", str(TERMINAL),
        "--methods", f"{TERMINAL}=card, mbway,xpay",
    )  # fmt: skip
    assert SandboxTerminalMethods.objects.get(terminal_id=TERMINAL).methods == ["CARD", "MBWAY", "XPAY"]
    for bad in (f"{TERMINAL}=BITCOIN", "abc=CARD", "12345=CARD"):
        with pytest.raises(CommandError):
            call_command(
                "sandbox_configure",
                "--client-id", CLIENT_ID, "--bearer-token", TOKEN, "--terminal", str(TERMINAL), "--methods", bad,
            )  # fmt: skip


def test_the_admin_form_refuses_a_terminal_of_another_client_and_unknown_methods(loja):
    from sandbox.admin import TerminalMethodsForm

    def form(terminal, methods):
        data = {"terminal_id": str(terminal), "methods": methods}
        return TerminalMethodsForm(data, instance=SandboxTerminalMethods(merchant=loja))

    assert not form(12345, ["CARD"]).is_valid()
    assert not form(TERMINAL, ["BITCOIN"]).is_valid()
    good = form(TERMINAL, ["CARD", "XPAY"])
    assert good.is_valid(), good.errors
    assert good.save().methods == ["CARD", "XPAY"]
