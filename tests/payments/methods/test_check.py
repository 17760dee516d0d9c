"""Check with SIBS against the built-in sandbox: the checkout offering every method, and what its
``paymentMethodList`` says (agreeing, disagreeing, a 401, a timeout, no credential)."""

from __future__ import annotations

import json

import pytest
import requests

from payments.methods.models import CheckOutcome, MethodCheck
from payments.methods.resolution import MERCHANT, TERMINAL, Scope
from payments.methods.services import check
from payments.methods.services import settings as services
from payments.methods.tasks import check_all
from payments.services import gateway
from sandbox.gateway import KNOWN_METHODS
from sandbox.models import SandboxMerchant, SandboxPayment
from sandbox.services import terminal_methods_set
from tests.payments.ops_support import access_of, actor_of, make_gateway


def enable(world, scope, method, value=True):
    services.setting_save(
        access=access_of(world.m_alice),
        actor=actor_of(world.alice),
        scope=scope,
        method=method,
        values={"enabled": value},
    )


def at_sibs(terminal: int, *methods: str) -> None:
    terminal_methods_set(
        merchant=SandboxMerchant.objects.get(), terminal_id=terminal, methods=list(methods), known=KNOWN_METHODS
    )


@pytest.fixture
def gw(world):
    return make_gateway(world)


def test_sibs_agrees(world, gw):
    # given: MB WAY and card here, and the same two active at the gateway
    enable(world, Scope(MERCHANT), "MBWAY")
    enable(world, Scope(TERMINAL, terminal_id=world.t_lisboa.pk), "CARD")
    at_sibs(11111, "CARD", "MBWAY")
    # when
    result = check.terminal_check(terminal_pk=world.t_lisboa.pk, actor=actor_of(world.alice))
    # then
    assert result.outcome == CheckOutcome.AGREES
    assert sorted(result.active_at_sibs) == ["CARD", "MBWAY"] and result.not_active_at_sibs == []
    # the checkout offered every method, for a small amount, and is never paid
    [call] = [c for c in gw.adapter.calls if c["path"].endswith("/payments")]
    body = json.loads(call["body"])
    assert body["transaction"]["paymentMethod"] == list(check.ASKED)
    assert body["transaction"]["amount"]["value"] == 1.0
    assert call["headers"]["Authorization"] == f"Bearer {gw.credential.bearer_token}"
    payment = SandboxPayment.objects.get(transaction_id=result.sibs_transaction_id)
    assert payment.status == "Pending" and payment.payment_methods == ["MBWAY", "CARD"]


def test_sibs_differs_both_ways(world, gw, login):
    enable(world, Scope(MERCHANT), "MBWAY")
    enable(world, Scope(MERCHANT), "XPAY")
    at_sibs(11111, "MBWAY", "CARD")
    result = check.terminal_check(terminal_pk=world.t_lisboa.pk)
    assert result.outcome == CheckOutcome.DIFFERS
    assert result.not_active_at_sibs == ["XPAY"] and result.not_offered_here == ["CARD"]
    assert "Enabled here but not active at SIBS: XPAY" in result.detail
    assert "Active at SIBS but not offered here: Card" in result.detail
    # the matrix flags both cells with the check's date
    page = login(world.alice).get("/m/loja/payment-methods/").content.decode()
    row = page[page.index('data-terminal="11111"') :]
    assert 'data-method="XPAY"' in row and 'data-flag="not_at_sibs"' in row and 'data-flag="not_here"' in row
    assert "Not active at SIBS" in row


def test_a_terminal_without_configuration_at_the_sandbox_has_its_defaults(world, gw):
    result = check.terminal_check(terminal_pk=world.t_porto.pk)
    assert result.outcome == CheckOutcome.DIFFERS
    assert sorted(result.active_at_sibs) == ["CARD", "MBWAY", "REFERENCE", "TOKEN"]


def test_a_refused_credential_is_said_in_words(world, gw):
    gw.credential.bearer_token = "not-the-token"
    gw.credential.save()
    gateway.client_for(gw.credential).session.mount("http://testserver/", gw.adapter)
    result = check.terminal_check(terminal_pk=world.t_lisboa.pk)
    assert result.outcome == CheckOutcome.FAILED and result.http_status == 401
    assert "refused the gateway credential (HTTP 401)" in result.detail
    assert result.active_at_sibs is None


def test_a_timeout_is_said_in_the_same_words_as_any_network_failure(world, gw):
    # Which failure it was (timeout, refused, TLS) is logged, never shown: the words must not
    # map the network behind a custom API address.
    details = []
    for failure in (requests.ReadTimeout("read timed out"), requests.ConnectionError("refused")):
        gw.adapter.fail_with = failure
        result = check.terminal_check(terminal_pk=world.t_lisboa.pk)
        assert result.outcome == CheckOutcome.FAILED
        details.append(result.detail)
    assert details[0] == details[1] and details[0].startswith("SIBS could not be reached")


def test_a_refused_checkout_is_said_in_words(world, gw):
    at_sibs(11111)  # nothing active at the gateway: SIBS refuses the checkout
    result = check.terminal_check(terminal_pk=world.t_lisboa.pk)
    assert result.outcome == CheckOutcome.FAILED
    assert "12.110.1201" in result.return_code and "None of transaction.paymentMethod" in result.detail


def test_without_a_credential(world):
    result = check.terminal_check(terminal_pk=world.t_lisboa.pk)
    assert result.outcome == CheckOutcome.FAILED and "No active gateway credential" in result.detail


def test_an_unreadable_answer(world, gw, monkeypatch):
    from payments.sibs.client import ApiResponse

    def answer(self, method, path, **kwargs):
        return ApiResponse(http_status=200, body=b"{}", data={"paymentMethodList": "CARD"}, elapsed=0.1)

    monkeypatch.setattr("payments.sibs.client.SibsClient._call", answer)
    result = check.terminal_check(terminal_pk=world.t_lisboa.pk)
    assert result.outcome == CheckOutcome.FAILED and "no list of payment methods" in result.detail


def test_the_button_shows_the_result_and_never_a_500(world, gw, login):
    gw.adapter.fail_with = requests.ConnectTimeout("connect timed out")
    client = login(world.adam)
    response = client.post(f"/m/loja/payment-methods/terminals/{world.t_lisboa.pk}/check/", follow=True)
    assert response.status_code == 200
    assert "SIBS could not be reached" in response.content.decode()
    assert MethodCheck.objects.get().requested_by == world.adam
    assert login(world.bob).post(f"/m/loja/payment-methods/terminals/{world.t_lisboa.pk}/check/").status_code == 403


def test_the_daily_task_checks_every_active_terminal(world, gw):
    world.t_outra.is_active = False
    world.t_outra.save()
    assert check_all() == 2  # tasks run inline in these tests
    assert set(MethodCheck.objects.values_list("terminal__terminal_id", flat=True)) == {11111, 22222}
    assert MethodCheck.objects.filter(requested_by__isnull=True).count() == 2
