"""Bulk update by SIBS's QRCodeImportTemplate: the template, the dry run's every error in words,
and a confirmation that applies all rows or none."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.access import Access
from backoffice.audit import Actor
from qrexpress.models import BulkImportState, ProductStatus, StockEntry, StockSource
from qrexpress.services import QrExpressError
from qrexpress.services.bulk import HEADERS, import_apply, import_check, template_csv
from tests.qrexpress.support import apply_notification, make_product, purchase_notification


def _access(world):
    return Access.for_membership(world.m_quinn)


def _file(*rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode()


def _row(
    qr_id="QR-1",
    *,
    terminal="11111",
    description="Caneca",
    status="ACT",
    managed="",
    stock="",
    change="",
    expiry="",
    version="1",
    operation="UPDATE",
):
    return [version, operation, terminal, description, qr_id, status, managed, stock, change, expiry]


def _check(world, raw: bytes):
    return import_check(access=_access(world), actor=Actor(user=world.quinn), file_name="t.csv", raw=raw)


def test_the_template_lists_the_products_with_the_sibs_headers(world):
    make_product(world, qr_code_id="QR-1", units=4, description="=HYPERLINK(evil)")
    text = template_csv(access=_access(world))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == list(HEADERS)
    assert rows[1][:6] == ["1", "UPDATE", "11111", "'=HYPERLINK(evil)", "QR-1", "ACT"]
    assert rows[1][6:9] == ["", "", ""]


def test_the_dry_run_reaches_every_error_and_applies_nothing(world):
    make_product(world, qr_code_id="QR-1", units=4)
    make_product(world, qr_code_id="QR-2", units=4)
    yesterday = (timezone.localdate() - timedelta(days=1)).strftime("%d/%m/%Y")
    raw = _file(
        _row("QR-1", terminal="99999"),  # unknown terminal
        _row("QR-2", description="x" * 101),  # description too long
        _row("QR-1", expiry=yesterday),  # expiry in the past (and a duplicate of line 2)
        _row("QR-2", stock="10"),  # Stock filled on an UPDATE (and a duplicate)
        _row("QR-3", change="0"),  # Alteração Stock not positive; unknown code
        _row("QR-4", change="-2"),
        _row("QR-5", managed="S"),
        _row("QR-6", operation="CREATE"),
        _row("QR-7", status="ON", version="2"),
        _row("QR-8", expiry="31/02/2030"),
        _row("Q" * 37),
    )
    checked = _check(world, raw)
    assert checked.state == BulkImportState.REFUSED
    errors = {item["line"]: " | ".join(item["errors"]) for item in checked.plan}
    assert "Unknown terminal “99999”" in errors[2]
    assert "at most 100" in errors[3]
    assert "is in the past" in errors[4] and "also on line 2" in errors[4]
    assert "Stock must be left blank on an UPDATE" in errors[5] and "also on line 3" in errors[5]
    assert "Alteração Stock must be a whole number above zero" in errors[6]
    assert "No QR code QR-3 on terminal 11111" in errors[6]
    assert "Alteração Stock must be a whole number above zero" in errors[7]
    assert "Indicação Gestão Stock must be left blank" in errors[8]
    assert "Creating QR codes from the file is not possible" in errors[9]
    assert "Estado must be ACT or SUS" in errors[10] and "Versão must be 1" in errors[10]
    assert "is not a date" in errors[11]
    assert "at most 36 characters" in errors[12]
    assert checked.error_count >= 14
    with pytest.raises(QrExpressError):
        import_apply(access=_access(world), actor=Actor(user=world.quinn), bulk=checked)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "bad_header"),
        (b"\x00\x01\x02binary", "not_text"),
        ("Nome;Preço\nx;y\n".encode(), "bad_header"),
        (_file(), "empty"),
        (b"x" * 1_000_001, "file_too_large"),
        (b"\xff\xfe\x00V\x00e", "not_text"),
    ],
)
def test_files_that_are_not_the_template_are_refused_in_words(world, raw, code):
    with pytest.raises(QrExpressError) as refused:
        _check(world, raw)
    assert refused.value.code == code
    assert refused.value.message


def test_a_confirmed_upload_applies_every_row_in_one_go(world):
    one = make_product(world, qr_code_id="QR-1", units=4)
    two = make_product(world, qr_code_id="QR-2", units=1)
    in_a_month = (timezone.localdate() + timedelta(days=30)).strftime("%d/%m/%Y")
    raw = _file(
        _row("QR-1", description="Caneca azul", change="6", expiry=in_a_month),
        _row("QR-2", description=two.description, status="SUS"),
    )
    checked = _check(world, raw)
    assert checked.state == BulkImportState.PREVIEWED
    assert checked.plan[0]["changes"]["add_units"] == 6
    assert checked.plan[1]["changes"] == {"status": ["ACT", "SUS"]}
    one.refresh_from_db()
    assert one.stock_units == 4  # the dry run changed nothing

    applied = import_apply(access=_access(world), actor=Actor(user=world.quinn), bulk=checked)

    assert applied.state == BulkImportState.APPLIED
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.description, one.stock_units, one.expires_on.strftime("%d/%m/%Y")) == ("Caneca azul", 10, in_a_month)
    assert two.status == ProductStatus.SUSPENDED
    assert StockEntry.objects.filter(source=StockSource.BULK).get().delta == 6
    with pytest.raises(QrExpressError) as again:
        import_apply(access=_access(world), actor=Actor(user=world.quinn), bulk=applied)
    assert again.value.code == "import_closed"


def test_a_purchase_between_check_and_confirmation_does_not_block_adding_units(world):
    one = make_product(world, qr_code_id="7ecf9d4e23334f7da6cb", units=4)
    checked = _check(world, _file(_row("7ecf9d4e23334f7da6cb", description=one.description, change="6")))
    apply_notification(world.loja, purchase_notification())
    applied = import_apply(access=_access(world), actor=Actor(user=world.quinn), bulk=checked)
    assert applied.state == BulkImportState.APPLIED
    one.refresh_from_db()
    assert one.stock_units == 9


def test_if_anything_changed_since_the_check_no_row_is_applied(world):
    one = make_product(world, qr_code_id="QR-1", units=4)
    two = make_product(world, qr_code_id="QR-2", units=4)
    checked = _check(world, _file(_row("QR-1", description="Nova", change="1"), _row("QR-2", description="Outra")))
    # meanwhile someone moves QR-2 to another state of affairs: it is deleted from the merchant's view
    two.terminal = world.t_porto
    two.save()
    applied = import_apply(access=_access(world), actor=Actor(user=world.quinn), bulk=checked)
    assert applied.state == BulkImportState.REFUSED
    one.refresh_from_db()
    assert (one.description, one.stock_units) == ("Caneca branca 33 cl", 4)
    assert not StockEntry.objects.filter(source=StockSource.BULK).exists()


def test_a_failure_in_the_middle_rolls_back_the_rows_before_it(world, monkeypatch):
    from qrexpress.services import bulk as bulk_module

    one = make_product(world, qr_code_id="QR-1", units=4)
    make_product(world, qr_code_id="QR-2", units=4)
    checked = _check(world, _file(_row("QR-1", description="Nova", change="1"), _row("QR-2", change="2")))
    calls = []

    def failing_second(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return original(**kwargs)

    original = bulk_module.ledger_apply
    monkeypatch.setattr(bulk_module, "ledger_apply", failing_second)
    with pytest.raises(RuntimeError):
        import_apply(access=_access(world), actor=Actor(user=world.quinn), bulk=checked)
    one.refresh_from_db()
    checked.refresh_from_db()
    assert (one.description, one.stock_units) == ("Caneca branca 33 cl", 4)
    assert checked.state == BulkImportState.PREVIEWED
    assert not StockEntry.objects.filter(source=StockSource.BULK).exists()
