"""The QR Code Express pages, as each persona sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from qrexpress.models import BulkImport, Purchase, QrProduct
from tests.qrexpress.support import apply_notification, make_product, purchase_notification

BASE = "/m/loja/qr-express/"


@pytest.fixture
def product(world):
    return make_product(world, units=5, qr_code_id="7ecf9d4e23334f7da6cb", qr_content="https://example.com/qr/abc")


@pytest.mark.parametrize("role", ["owner", "administrator", "operator", "finance", "viewer", "qr_manager"])
def test_everyone_with_the_section_sees_the_list_and_the_product(world, login, product, role):
    client = login(world.by_role(role))
    page = client.get(BASE)
    assert page.status_code == 200
    assert b"Caneca Loja" in page.content
    detail = client.get(f"{BASE}{product.pk}/")
    assert detail.status_code == 200
    assert b"<svg" in detail.content
    can_manage = role in ("owner", "administrator", "qr_manager")
    assert (b'data-testid="stock-form"' in detail.content) is can_manage


def test_another_merchants_product_is_a_404(world, login, product):
    client = login(world.mallory)
    assert client.get(f"/m/outra/qr-express/{product.pk}/").status_code == 404
    assert client.get(f"/m/outra/qr-express/{product.pk}/qr.png").status_code == 404
    assert client.get(f"{BASE}{product.pk}/").status_code == 404


def test_qr_images_and_the_printable_card(world, login, product):
    client = login(world.victor)
    png = client.get(f"{BASE}{product.pk}/qr.png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    svg = client.get(f"{BASE}{product.pk}/qr.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert "default-src 'none'" in svg["Content-Security-Policy"]
    card = client.get(f"{BASE}{product.pk}/card/")
    assert b"1.50" in card.content and b"Caneca Loja" in card.content and b"<svg" in card.content


def test_the_qr_code_manager_creates_a_product_and_errors_are_shown_in_words(world, login):
    client = login(world.quinn)
    form = {
        "terminal": world.t_lisboa.pk,
        "qr_code_id": "ABC-123",
        "product_name": "T-shirt",
        "description": "x" * 101,
        "price": "12.50",
        "expedition_amount": "3.00",
        "status": "ACT",
        "stock_managed": "on",
        "initial_units": "3",
        "expires_on": (timezone.localdate() - timedelta(days=1)).isoformat(),
    }
    refused = client.post(f"{BASE}new/", form)
    assert refused.status_code == 200
    assert b"at most 100 characters" in refused.content
    form["description"] = "T-shirt azul M"
    refused = client.post(f"{BASE}new/", form)
    assert "The expiry date must be in the future." in refused.content.decode()
    form["expires_on"] = (timezone.localdate() + timedelta(days=90)).isoformat()
    created = client.post(f"{BASE}new/", form)
    product = QrProduct.objects.get(qr_code_id="ABC-123")
    assert created.status_code == 302 and created["Location"] == f"{BASE}{product.pk}/"
    assert product.stock_units == 3
    # the same QR Code ID again is refused
    again = client.post(f"{BASE}new/", form)
    assert b"Another product already has this QR Code ID." in again.content
    # without an ID and without a sandbox gateway, the person is told where it comes from
    form["qr_code_id"] = ""
    missing = client.post(f"{BASE}new/", form)
    assert b"Enter the QR Code ID SIBS Backoffice gave this code." in missing.content


def test_a_terminal_of_another_merchant_cannot_be_chosen(world, login):
    client = login(world.quinn)
    page = client.post(
        f"{BASE}new/",
        {
            "terminal": world.t_outra.pk,
            "qr_code_id": "X",
            "product_name": "a",
            "description": "b",
            "price": "1",
            "expedition_amount": "0",
            "status": "ACT",
        },
    )
    assert page.status_code == 200
    assert not QrProduct.objects.exists()


def test_stock_form_changes_once_even_when_submitted_twice(world, login, product):
    client = login(world.quinn)
    data = {"operation": "add", "units": "4", "reason": "delivery", "token": "abc"}
    client.post(f"{BASE}{product.pk}/stock/", data)
    client.post(f"{BASE}{product.pk}/stock/", data)
    product.refresh_from_db()
    assert product.stock_units == 9
    refused = client.post(
        f"{BASE}{product.pk}/stock/", {**data, "operation": "remove", "units": "50", "token": "x"}, follow=True
    )
    assert b"There are not that many units in stock." in refused.content
    bad = client.post(f"{BASE}{product.pk}/stock/", {"operation": "steal", "units": "x"}, follow=True)
    assert bad.status_code == 200
    product.refresh_from_db()
    assert product.stock_units == 9


def test_people_who_cannot_manage_get_403_on_writes(world, login, product):
    client = login(world.fiona)
    assert (
        client.post(f"{BASE}{product.pk}/stock/", {"operation": "add", "units": "4", "token": "t"}).status_code == 403
    )
    assert client.get(f"{BASE}new/").status_code == 403
    assert client.get(f"{BASE}{product.pk}/edit/").status_code == 403
    assert client.get(f"{BASE}import/").status_code == 403
    product.refresh_from_db()
    assert product.stock_units == 5


def test_edit_keeps_the_stock_and_validates(world, login, product):
    client = login(world.quinn)
    page = client.get(f"{BASE}{product.pk}/edit/")
    assert page.status_code == 200
    form = {
        "product_name": "Caneca grande",
        "description": "Caneca 50 cl",
        "price": "2.00",
        "expedition_amount": "0",
        "status": "SUS",
        "low_stock_threshold": "2",
    }
    assert client.post(f"{BASE}{product.pk}/edit/", form).status_code == 302
    product.refresh_from_db()
    assert (product.product_name, str(product.price), product.status, product.stock_units) == (
        "Caneca grande",
        "2.00",
        "SUS",
        5,
    )


def test_purchases_show_personal_data_only_to_those_who_fulfil(world, login, product):
    apply_notification(world.loja, purchase_notification(qr_code_id=product.qr_code_id))
    purchase = Purchase.objects.get()
    quinn = login(world.quinn).get(f"{BASE}purchases/")
    assert b"Olga Rodrigues" in quinn.content and b"4646-846" in quinn.content
    fiona = login(world.fiona).get(f"{BASE}purchases/")
    assert b"Caneca Loja" in fiona.content or b"Nome info" in fiona.content
    assert b"Olga Rodrigues" not in fiona.content and b"123456789" not in fiona.content
    detail = login(world.fiona).get(f"{BASE}purchases/{purchase.pk}/")
    assert b"Olga Rodrigues" not in detail.content
    assert login(world.fiona).post(f"{BASE}purchases/{purchase.pk}/", {"state": "shipped"}).status_code == 403


def test_fulfilment_from_the_purchase_page(world, login, product):
    apply_notification(world.loja, purchase_notification(qr_code_id=product.qr_code_id))
    purchase = Purchase.objects.get()
    client = login(world.quinn)
    client.post(f"{BASE}purchases/{purchase.pk}/", {"state": "shipped", "note": "CTT"})
    page = client.get(f"{BASE}purchases/{purchase.pk}/")
    assert b"CTT" in page.content
    purchase.refresh_from_db()
    assert purchase.fulfilment == "shipped"
    back = client.post(f"{BASE}purchases/{purchase.pk}/", {"state": "new"}, follow=True)
    assert b"cannot become" in back.content


def test_bulk_upload_previews_then_applies(world, login, product):
    client = login(world.quinn)
    template = client.get(f"{BASE}import/template.csv")
    assert template["Content-Disposition"].endswith('QRCodeImportTemplate.csv"')
    text = template.content.decode("utf-8-sig").replace(";ACT;;;;", ";ACT;;;7;")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("QRCodeImportTemplate.csv", text.encode(), content_type="text/csv")
    preview = client.post(f"{BASE}import/", {"file": upload})
    bulk = BulkImport.objects.get()
    assert preview["Location"] == f"{BASE}import/{bulk.pk}/"
    page = client.get(preview["Location"])
    assert b"add 7 units" in page.content
    product.refresh_from_db()
    assert product.stock_units == 5
    client.post(preview["Location"])
    product.refresh_from_db()
    assert product.stock_units == 12
    junk = client.post(f"{BASE}import/", {"file": SimpleUploadedFile("x.csv", b"\x00\x00", content_type="text/csv")})
    assert junk.status_code == 200 and b"not a CSV text file" in junk.content


def test_purchases_export_as_csv_with_personal_data_only_for_those_who_fulfil(world, login, product):
    payload = purchase_notification(qr_code_id=product.qr_code_id)
    payload["financialOperation"]["expeditionInfo"]["expeditionName"] = "=cmd|' /C calc'!A0"
    apply_notification(world.loja, payload)
    text = b"".join(login(world.quinn).get(f"{BASE}purchases/export.csv").streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert "Ship to" in lines[0] and "Rua D João, 8 2drt, 4646-846, Lisboa" in lines[1]
    assert ";'=cmd|" in lines[1]  # never a formula
    finance = b"".join(login(world.fiona).get(f"{BASE}purchases/export.csv").streaming_content).decode("utf-8-sig")
    assert "Ship to" not in finance and "=cmd" not in finance and "123456789" not in finance
    assert product.qr_code_id in finance


def test_sibs_qr_image_upload_replaces_the_drawn_code(world, login, product):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qrexpress import qr

    drawn = qr.png(product)
    client = login(world.quinn)
    form = {
        "product_name": product.product_name,
        "description": product.description,
        "price": "1.50",
        "expedition_amount": "0.10",
        "status": "ACT",
        "qr_content": product.qr_content,
    }
    not_png = SimpleUploadedFile("qr.svg", b"<svg onload=alert(1)>", content_type="image/svg+xml")
    refused = client.post(f"{BASE}{product.pk}/edit/", {**form, "qr_image": not_png})
    assert refused.status_code == 200 and b"Upload the PNG image" in refused.content
    sibs_png = SimpleUploadedFile("qr.png", b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    assert client.post(f"{BASE}{product.pk}/edit/", {**form, "qr_image": sibs_png}).status_code == 302
    served = client.get(f"{BASE}{product.pk}/qr.png")
    assert served.content == b"\x89PNG\r\n\x1a\n" + b"x" * 100
    assert b"data:image/png;base64," in client.get(f"{BASE}{product.pk}/qr.svg").content
    client.post(f"{BASE}{product.pk}/edit/", {**form, "remove_qr_image": "on"})
    assert client.get(f"{BASE}{product.pk}/qr.png").content == drawn


def test_a_store_limited_manager_sees_only_their_own_file_checks(world, login, product):
    from backoffice.models import Membership
    from backoffice.roles import Role
    from qrexpress.models import BulkImportState
    from tests.factories import make_membership, make_user

    porto_manager = make_user("pedro@loja.example", "Pedro Porto")
    make_membership(porto_manager, world.loja, Role.QR_MANAGER, stores=[world.porto])
    bulk = BulkImport.objects.create(
        merchant=world.loja,
        file_name="lisboa.csv",
        content="",
        plan=[],
        state=BulkImportState.PREVIEWED,
        created_by=world.quinn,
    )
    assert login(world.quinn).get(f"{BASE}import/{bulk.pk}/").status_code == 200
    assert login(porto_manager).get(f"{BASE}import/{bulk.pk}/").status_code == 404
    assert Membership.objects.filter(user=porto_manager).exists()


def test_an_expired_product_says_so(world, login):
    from datetime import timedelta

    expired = make_product(world, units=1, qr_code_id="OLD")
    QrProduct.objects.filter(pk=expired.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
    page = login(world.victor).get(BASE)
    assert b"expired" in page.content
