"""Every main page, rendered in Portuguese, shows no sentence of the catalogue in English.

A string can be in the catalogue, translated, and still reach a Portuguese page in English: when
it is translated too early (at import, in a worker), or stored in English and shown as stored.
This renders the pages with data on them and looks for the English of every translated sentence.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest

from backoffice import audit
from backoffice.audit import Actor
from payments.models import OperationKind, OperationState, PaymentOperation
from tests.payments.test_listing import make_txn
from tests.test_translations import _entries

PAGES = (
    "/m/loja/transactions/",
    "/m/loja/transactions/{txn}/",
    "/m/loja/payment-methods/",
    "/m/loja/payment-methods/approvals/",
    "/m/loja/webhooks/",
    "/m/loja/webhooks/deliveries/",
    "/m/loja/users/",
    "/m/loja/api-keys/",
    "/m/loja/audit/",
    "/m/loja/dashboards/",
    "/m/loja/extracts/",
    "/m/loja/reconciliation/",
    "/m/loja/qr-express/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/m/loja/no-such-page/",
)


_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def _english_sentences() -> list[re.Pattern]:
    """Translated catalogue sentences, as patterns (a placeholder matches any short text), long
    enough not to be a word both languages share (``Email``, ``API``)."""
    out = []
    for entry in _entries():
        msgid, msgstr = entry["msgid"], entry.get("msgstr", "")
        if not msgid or not msgstr or msgid == msgstr or "\n" in msgid:
            continue
        literal = _PLACEHOLDER.split(msgid)
        if sum(len(part) for part in literal) < 18 or " " not in msgid:
            continue
        out.append(re.compile(".{1,80}?".join(re.escape(part) for part in literal)))
    return out


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def busy_merchant(world):
    txn = make_txn(world, transaction_id="s2ptpagetest00000001", amount=Decimal("84.51"))
    refund = make_txn(
        world, transaction_id="s2ptpagetest00000002", payment_type="RFND", amount=Decimal("10.50"), state="succeeded"
    )
    op = PaymentOperation.objects.create(
        merchant=world.loja,
        original=txn,
        kind=OperationKind.REFUND,
        amount=Decimal("10.50"),
        currency="EUR",
        state=OperationState.SUCCEEDED,
        idempotency_key="k-pt",
        fingerprint="f",
        gateway_reference="bo-re-pt",
        requested_by=world.bob,
        reason="returned_goods",
        result=refund,
        outcome_detail="Done: SIBS confirmed it (s2ptpagetest00000002).",
    )
    audit.record(actor=Actor(user=world.bob), action="payment.refund_succeeded", merchant=world.loja, obj=op)
    return txn


def test_main_pages_in_portuguese_have_no_english_catalogue_sentence(world, login, busy_merchant):
    client = login(world.alice)
    sentences = _english_sentences()
    assert len(sentences) > 300
    found = {}
    for path in PAGES:
        response = client.get(path.format(txn=busy_merchant.transaction_id), HTTP_ACCEPT_LANGUAGE="pt-PT")
        assert response.status_code in (200, 404), path
        text = _text(response.content.decode())
        english = [s.pattern for s in sentences if s.search(text)]
        if english:
            found[path] = english[:5]
    assert found == {}, f"English on Portuguese pages: {found}"
