"""The stock at SIBS: the client's headers and digest against the sandbox, refusals, timeouts,
and the daily sync that finds drift."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest
import requests
from django.test import Client

from backoffice.access import Access
from backoffice.audit import Actor
from qrexpress.models import StockEntry
from qrexpress.services import QrExpressError, sibs_stock, stock_change
from qrexpress.sibs_stock import DEFAULT_PATHS
from sandbox.models import SandboxQrCode, SandboxStockRequest
from tests.payments.ops_support import CLIENT_ID, TOKEN
from tests.qrexpress.support import StockGateway, make_product


@pytest.fixture
def gw(world, monkeypatch):
    return StockGateway(world, monkeypatch)


def _change(world, product, operation, units, **kwargs):
    return stock_change(
        access=Access.for_membership(world.m_quinn),
        actor=Actor(user=world.quinn, ip_address="192.0.2.10", user_agent="Firefox/140"),
        product=product,
        operation=operation,
        units=units,
        **kwargs,
    )


def _sandbox_units(product) -> int:
    return SandboxQrCode.objects.get(qr_code_id=product.qr_code_id).stock_units


def test_a_product_made_with_the_sandbox_gets_its_code_there_and_changes_reach_it_first(world, gw):
    # given a product created without a QR Code ID: the sandbox (as SIBS Backoffice) creates one
    product = make_product(world, units=10, qr_code_id="")
    assert len(product.qr_code_id) == 20
    assert product.qr_content == f"http://testserver/sandbox/qr/{product.qr_code_id}/"
    assert _sandbox_units(product) == 10

    # when quinn adds 5 units
    _change(world, product, "add", 5)

    # then SIBS was called with every documented header, and both sides agree
    call = gw.stock_calls()[-1]
    headers = {k.lower(): v for k, v in call["headers"].items()}
    assert call["path"] == "/sandbox/api/v2" + DEFAULT_PATHS["add"]
    assert json.loads(call["body"]) == {"stockUnits": 5}
    assert headers["digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(call["body"]).digest()).decode()
    assert headers["content-type"] == "application/json"
    assert headers["x-ibm-client-id"] == CLIENT_ID
    assert uuid.UUID(headers["tpp-transaction-id"]) and uuid.UUID(headers["tpprequest-id"])
    assert headers["psu-agent"] == "Firefox/140"
    assert headers["psu-ipaddress"] == "192.0.2.10"
    assert headers["psu-geolocation"] and headers["psu-device-id"] and headers["psu-device-fingerprint"]
    assert headers["terminal"] == "11111"
    assert headers["qrcode-id"] == product.qr_code_id
    product.refresh_from_db()
    assert product.stock_units == 15 == _sandbox_units(product) == product.sibs_units
    assert product.stock_drift == 0

    # each call has its own request id
    _change(world, product, "remove", 1)
    request_ids = [c["headers"]["TPPRequest-ID"] for c in gw.stock_calls()]
    assert len(set(request_ids)) == len(request_ids)
    assert SandboxStockRequest.objects.filter(status_code="000").count() == 2


def test_a_sibs_refusal_leaves_the_ledger_unchanged_and_says_why(world, gw):
    product = make_product(world, units=10, qr_code_id="")
    # SIBS sold some units the backoffice has not heard of yet
    SandboxQrCode.objects.filter(qr_code_id=product.qr_code_id).update(stock_units=2)
    with pytest.raises(QrExpressError) as refused:
        _change(world, product, "remove", 5)
    assert refused.value.code == "sibs_refused"
    assert "QRE001" in refused.value.message
    product.refresh_from_db()
    assert product.stock_units == 10
    assert StockEntry.objects.filter(product=product).count() == 1
    assert "QRE001" in product.sibs_error


def test_a_timeout_leaves_the_ledger_unchanged(world, gw):
    product = make_product(world, units=10, qr_code_id="")
    gw.adapter.fail_with = requests.ReadTimeout("read timed out")
    with pytest.raises(QrExpressError) as refused:
        _change(world, product, "add", 3)
    assert refused.value.code == "sibs_timeout"
    assert "did not answer in time" in refused.value.message
    product.refresh_from_db()
    assert product.stock_units == 10
    assert StockEntry.objects.filter(product=product).count() == 1


def test_the_sync_finds_drift_and_flags_it(world, gw):
    in_step = make_product(world, units=4, qr_code_id="", product_name="Em dia")
    drifting = make_product(world, units=10, qr_code_id="", product_name="Desviado")
    local_only = make_product(world, units=3, qr_code_id="LOCAL-1", terminal=world.t_porto)
    SandboxQrCode.objects.filter(qr_code_id=drifting.qr_code_id).update(stock_units=7)

    counts = sibs_stock.stock_sync_all()

    # the credential is the whole merchant's: the Porto product is linked too, but unknown at SIBS
    assert counts == {"checked": 2, "drift": 1, "failed": 1, "skipped": 0}
    drifting.refresh_from_db()
    in_step.refresh_from_db()
    local_only.refresh_from_db()
    assert (drifting.sibs_units, drifting.stock_drift, drifting.stock_units) == (7, -3, 10)
    assert in_step.stock_drift == 0
    assert "QRE002" in local_only.sibs_error
    # defining the right number at both ends clears it
    _change(world, drifting, "define", 7)
    drifting.refresh_from_db()
    assert (drifting.stock_units, drifting.stock_drift) == (7, 0)


# --------------------------------------------------------------------------- the sandbox's checks


def _headers(body: bytes, **overrides):
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "X-IBM-Client-Id": CLIENT_ID,
        "TPP-Transaction-ID": str(uuid.uuid4()),
        "TPPRequest-ID": str(uuid.uuid4()),
        "PSU-Agent": "pytest",
        "PSU-IPAddress": "127.0.0.1",
        "PSU-GeoLocation": "GEO:0;0",
        "PSU-Device-ID": str(uuid.uuid4()),
        "PSU-Device-Fingerprint": "abc",
        "Terminal": "11111",
        "QRCode-ID": "",
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }
    for name, value in overrides.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def _post(path: str, body: bytes, headers: dict):
    return Client().generic(
        "POST", f"/sandbox/api/v2{path}", data=body, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        ({"Digest": None}, "E0102", 400),
        ({"Digest": "SHA-256=" + base64.b64encode(b"x" * 32).decode()}, "E0104", 400),
        ({"TPPRequest-ID": None}, "E0102", 400),
        ({"TPPRequest-ID": "not-a-uuid"}, "E0103", 400),
        ({"TPP-Transaction-ID": None}, "E0102", 400),
        ({"PSU-Agent": None}, "E0102", 400),
        ({"PSU-IPAddress": "somewhere"}, "E0103", 400),
        ({"PSU-GeoLocation": None}, "E0102", 400),
        ({"PSU-Device-ID": None}, "E0102", 400),
        ({"PSU-Device-Fingerprint": None}, "E0102", 400),
        ({"Terminal": None}, "E0102", 400),
        ({"Terminal": "99999"}, "E0105", 403),
        ({"QRCode-ID": None}, "E0102", 400),
        ({"QRCode-ID": "unknown-code"}, "QRE002", 404),
        ({"Authorization": "Bearer wrong"}, None, 401),
    ],
)
def test_the_sandbox_refuses_bad_headers_like_sibs(world, gw, overrides, code, status):
    product = make_product(world, units=5, qr_code_id="")
    body = b'{"stockUnits":2}'
    headers = _headers(body, **{"QRCode-ID": product.qr_code_id})
    headers.update({k: v for k, v in overrides.items() if v is not None})
    for name in [k for k, v in overrides.items() if v is None]:
        headers.pop(name)
    response = _post(DEFAULT_PATHS["add"], body, headers)
    assert response.status_code == status, response.content
    if code:
        assert response.json()["returnStatus"]["statusCode"] == code
    assert _sandbox_units(product) == 5


def test_the_sandbox_refuses_a_reused_request_id_and_bad_bodies(world, gw):
    product = make_product(world, units=5, qr_code_id="")
    body = b'{"stockUnits":2}'
    headers = _headers(body, **{"QRCode-ID": product.qr_code_id})
    assert _post(DEFAULT_PATHS["add"], body, headers).status_code == 200
    again = _post(DEFAULT_PATHS["add"], body, headers)
    assert again.status_code == 409
    assert again.json()["returnStatus"]["statusCode"] == "E0106"
    assert _sandbox_units(product) == 7
    for bad in (b'{"stockUnits":-1}', b'{"stockUnits":"x"}', b"[]", b"{", b'{"stockUnits":true}'):
        refused = _post(DEFAULT_PATHS["add"], bad, _headers(bad, **{"QRCode-ID": product.qr_code_id}))
        assert refused.status_code == 400, bad
    assert _sandbox_units(product) == 7


def test_units_added_by_a_bulk_file_or_a_refund_reach_sibs_after_the_commit(
    world, gw, django_capture_on_commit_callbacks
):
    from qrexpress.models import Purchase
    from qrexpress.services import fulfilment_set
    from qrexpress.services.bulk import import_apply, import_check, template_csv
    from tests.qrexpress.support import apply_notification, purchase_notification

    product = make_product(world, units=4, qr_code_id="")
    access, actor = Access.for_membership(world.m_quinn), Actor(user=world.quinn)
    text = template_csv(access=access).replace(";ACT;;;;", ";ACT;;;6;")
    checked = import_check(access=access, actor=actor, file_name="t.csv", raw=text.encode())
    with django_capture_on_commit_callbacks(execute=True):
        import_apply(access=access, actor=actor, bulk=checked)
    product.refresh_from_db()
    assert product.stock_units == 10 == _sandbox_units(product)

    # a purchase at SIBS takes a unit on both sides; refunding it with restock gives it back to both
    SandboxQrCode.objects.filter(qr_code_id=product.qr_code_id).update(stock_units=9)
    apply_notification(world.loja, purchase_notification(qr_code_id=product.qr_code_id))
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_set(access=access, actor=actor, purchase=Purchase.objects.get(), state="refunded", restock=True)
    product.refresh_from_db()
    assert product.stock_units == 10 == _sandbox_units(product)
    assert product.stock_drift == 0


def test_a_refused_push_shows_as_drift(world, gw, django_capture_on_commit_callbacks):
    from qrexpress.services.bulk import import_apply, import_check, template_csv

    product = make_product(world, units=4, qr_code_id="")
    access, actor = Access.for_membership(world.m_quinn), Actor(user=world.quinn)
    text = template_csv(access=access).replace(";ACT;;;;", ";ACT;;;6;")
    checked = import_check(access=access, actor=actor, file_name="t.csv", raw=text.encode())
    gw.adapter.fail_with = requests.ReadTimeout("read timed out")
    gw.adapter.fail_after_processing = False
    with django_capture_on_commit_callbacks(execute=True):
        import_apply(access=access, actor=actor, bulk=checked)
    gw.adapter.fail_with = None
    product.refresh_from_db()
    assert product.stock_units == 10 and _sandbox_units(product) == 4
    assert "did not answer in time" in product.sibs_error
    sibs_stock.stock_sync(product)
    product.refresh_from_db()
    assert product.stock_drift == -6


def test_a_push_run_twice_is_one_operation_for_sibs(world, gw):
    product = make_product(world, units=4, qr_code_id="")
    first = str(uuid.uuid4())
    for _ in range(2):  # a worker lost mid-call: the task runs again
        assert sibs_stock.stock_push(product_id=product.pk, operation="add", units=3, operation_id=first)
    assert _sandbox_units(product) == 7
    assert sibs_stock.stock_push(product_id=product.pk, operation="add", units=3, operation_id=str(uuid.uuid4()))
    assert _sandbox_units(product) == 10
