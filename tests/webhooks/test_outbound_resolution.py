"""Which webhook applies: terminal over store over merchant, per notification type."""

from __future__ import annotations

import pytest

from tests.webhooks.outbound_support import make_webhook
from webhooks.models import NotificationType
from webhooks.outbound import classify, effective_webhooks

URL = "https://erp.loja.example/hook"


@pytest.fixture
def hooks(world):
    return {
        "merchant": make_webhook(world.loja, url=URL, name="merchant-wide"),
        "lisboa": make_webhook(world.loja, url=URL, name="lisboa", store=world.lisboa, types=["mbway", "card"]),
        "t_lisboa": make_webhook(world.loja, url=URL, name="terminal", terminal=world.t_lisboa, types=["mbway"]),
        "t_lisboa_mail": make_webhook(
            world.loja, kind="email", email_to="caixa@loja.example", name="mail", terminal=world.t_lisboa,
            types=["mbway"],
        ),
        "off": make_webhook(world.loja, url=URL, name="off", terminal=world.t_porto, is_active=False),
    }  # fmt: skip


def names(resolution):
    return [w.name for w in resolution.webhooks]


def test_the_terminal_wins_with_every_webhook_at_its_level(world, hooks):
    r = effective_webhooks(world.loja, terminal=world.t_lisboa, notification_type="mbway")
    assert r.level == "terminal" and names(r) == ["terminal", "mail"]
    assert "terminal" in r.reason and {w.name for w in r.shadowed} == {"lisboa", "merchant-wide"}


def test_the_store_applies_when_the_terminal_has_none_for_the_type(world, hooks):
    r = effective_webhooks(world.loja, terminal=world.t_lisboa, notification_type="card")
    assert r.level == "store" and names(r) == ["lisboa"]
    r = effective_webhooks(world.loja, store=world.lisboa, notification_type="card")
    assert names(r) == ["lisboa"]


def test_the_merchant_covers_the_rest(world, hooks):
    r = effective_webhooks(world.loja, terminal=world.t_lisboa, notification_type="reference")
    assert r.level == "merchant" and names(r) == ["merchant-wide"] and r.shadowed == []
    # An inactive terminal webhook does not count.
    r = effective_webhooks(world.loja, terminal=world.t_porto, notification_type="mbway")
    assert names(r) == ["merchant-wide"]
    # An unknown terminal: merchant level only.
    assert names(effective_webhooks(world.loja, notification_type="mbway")) == ["merchant-wide"]


def test_nothing_applies(world, hooks):
    hooks["merchant"].delete()
    r = effective_webhooks(world.loja, terminal=world.t_porto, notification_type="xpay")
    assert not r and r.level is None and r.webhooks == [] and "not relayed" in r.reason


def test_another_merchants_terminal_or_store_is_ignored(world, hooks):
    other = make_webhook(world.outra, url=URL, name="outra", terminal=world.t_outra)
    r = effective_webhooks(world.loja, terminal=world.t_outra, notification_type="mbway")
    assert names(r) == ["merchant-wide"] and other not in r.webhooks
    r = effective_webhooks(world.loja, store=world.outra_store, notification_type="mbway")
    assert names(r) == ["merchant-wide"]
    r = effective_webhooks(world.outra, terminal=world.t_lisboa, notification_type="mbway")
    assert r.webhooks == []  # outra has no merchant-wide webhook, and loja's terminal is not outra's


def test_terminal_and_store_may_be_given_as_ids(world, hooks):
    assert names(effective_webhooks(world.loja, terminal=world.t_lisboa.pk, notification_type="mbway")) == [
        "terminal",
        "mail",
    ]
    assert names(effective_webhooks(world.loja, store=world.lisboa.pk, notification_type="card")) == ["lisboa"]


def test_the_database_refuses_a_webhook_for_both_a_store_and_a_terminal(world):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_webhook(world.loja, url=URL, store=world.lisboa, terminal=world.t_lisboa)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"paymentMethod": "MBWAY"}, NotificationType.MBWAY),
        ({"paymentMethod": "mbway "}, NotificationType.MBWAY),
        ({"paymentMethod": "REFERENCE"}, NotificationType.REFERENCE),
        ({"paymentMethod": "CARD"}, NotificationType.CARD),
        ({"paymentMethod": "TOKEN"}, NotificationType.TOKEN),
        ({"paymentMethod": "XPAY"}, NotificationType.XPAY),
        ({"paymentMethod": "MANDATE"}, NotificationType.AUTHORISED_PAYMENTS),
        ({"paymentMethod": "MBWAY", "mbwayMandate": {"mandateAction": "CRTN"}}, NotificationType.AUTHORISED_PAYMENTS),
        ({"paymentMethod": "STATIC_QRCODE"}, NotificationType.QR_EXPRESS),
        ({"paymentMethod": "CARD", "financialOperation": {"product": {}}}, NotificationType.QR_EXPRESS),
        ({"paymentMethod": "PIGEON"}, None),
        ({"paymentMethod": 7}, None),
        ({}, None),
        ([], None),
    ],
)
def test_classification(payload, expected):
    assert classify(payload) == expected
