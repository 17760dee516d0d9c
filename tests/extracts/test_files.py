"""The files: same rows as the list, each format's shape, exact money, formula injection."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.http import QueryDict

from backoffice.access import Access
from extracts.models import ExtractState
from payments.selectors import listing
from tests.extracts.conftest import make_txn
from tests.extracts.support import read_bytes, read_csv, run

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def list_ids(membership, query: str) -> list[str]:
    """Every row the transaction list shows for ``query``, page after page."""
    access = Access.for_membership(membership)
    filters, errors, _form = listing.parse_filters(QueryDict(query), access=access)
    assert errors == {}
    seen, cursor = [], None
    while True:
        page = listing.transaction_page(access=access, filters=filters, cursor=cursor, size=7)
        seen += [t.transaction_id for t in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = listing.Cursor.decode(page.next_cursor)


@pytest.fixture
def mix(world):
    rows = []
    for i in range(12):
        rows.append(make_txn(world, minutes_ago=i * 30, amount=Decimal("10.00") + i))
    rows.append(make_txn(world, terminal=world.t_porto, minutes_ago=5, state="refunded", amount=Decimal("16.20")))
    rows.append(make_txn(world, terminal=world.t_porto, minutes_ago=65, state="declined", payment_method="CARD"))
    rows.append(make_txn(world, minutes_ago=3, state="pending", amount=Decimal("16.20")))
    # Same instant: the list breaks ties by id, so must the file.
    at = rows[0].created_at - timedelta(minutes=1)
    rows.append(make_txn(world, created_at=at))
    rows.append(make_txn(world, created_at=at))
    make_txn(world, terminal=world.t_outra, minutes_ago=1)  # another merchant: never in a file
    return rows


@pytest.mark.parametrize(
    "query",
    [
        "",
        "period=today",
        "tab=success",
        "status=refunded&status=declined",
        "store=porto",
        "method=CARD",
        "q=16.20",
        "amount_min=12&amount_max=15",
        "period=24h&tab=declined",
    ],
)
def test_the_file_holds_exactly_the_rows_of_the_list(world, mix, query):
    if query == "store=porto":
        query = f"store={world.porto.pk}"
    # when
    extract = run(world.m_fiona, query, preset="operations")
    # then
    assert extract.state == ExtractState.DONE, extract.error
    rows = read_csv(extract)
    header, body = rows[0], rows[1:]
    ids = [r[header.index("SIBS transaction id")] for r in body]
    assert ids == list_ids(world.m_fiona, query)
    assert extract.rows_written == len(ids)


def test_a_store_limited_member_exports_only_their_stores(world, mix):
    # given paula (Porto only) with the export right
    world.m_paula.role = "finance"
    world.m_paula.save()
    # when
    extract = run(world.m_paula, preset="finance")
    # then
    rows = read_csv(extract)
    stores = {r[rows[0].index("Store")] for r in rows[1:]}
    assert stores == {"Porto"}
    assert len(rows) - 1 == 2


def test_plain_csv_is_rfc4180_utf8_with_only_header_and_data(world):
    make_txn(world, merchant_transaction_id='Encomenda "São João", nº 1', amount=Decimal("1234.5"))
    extract = run(world.m_fiona, columns=["merchant_transaction_id", "amount", "currency", "created_at"], zone="UTC")
    raw = read_bytes(extract)
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 2
    rows = read_csv(extract)
    assert rows[0] == ["Order id (merchantTransactionId)", "Amount", "Currency", "First received"]
    assert rows[1][:3] == ['Encomenda "São João", nº 1', "1234.50", "EUR"]
    assert datetime.fromisoformat(rows[1][3]).utcoffset() == timedelta(0)
    assert extract.download_name.endswith("_UTC.csv")


def test_portuguese_csv_opens_with_the_right_columns_and_numbers(world):
    # given a payment at 23:30 UTC on 30 June: 00:30 on 1 July in Lisbon (summer time)
    at = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    make_txn(world, created_at=at, amount=Decimal("1234.56"), refunded_amount=Decimal("0.5"))
    # when
    extract = run(
        world.m_fiona,
        "from=2026-06-01&to=2026-07-31",
        format="csv_pt",
        columns=["created_at", "amount", "refunded_amount", "store"],
    )
    raw = read_bytes(extract)
    # then: BOM, semicolons, decimal comma, dd/mm/yyyy hh:mm:ss in Lisbon
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = read_csv(extract, delimiter=";", encoding="utf-8-sig")
    assert rows[0] == ["First received", "Amount", "Refunded", "Store"]
    assert rows[1] == ["01/07/2026 00:30:00", "1234,56", "0,50", "Lisboa"]
    assert Decimal(rows[1][1].replace(",", ".")) == Decimal("1234.56")
    assert "_2026-06-01T0000+0100_2026-08-01T0000+0100_Europe-Lisbon_pt.csv" in extract.download_name


def test_xlsx_has_real_numbers_and_dates_title_rows_frozen_header_and_autofilter(world):
    at = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    make_txn(world, created_at=at, amount=Decimal("16.20"))
    make_txn(world, created_at=at + timedelta(hours=1), amount=Decimal("1.250"), currency="BHD")
    extract = run(
        world.m_fiona,
        "from=2026-01-01&to=2026-01-31",
        format="xlsx",
        columns=["created_at", "amount", "currency", "terminal"],
        zone="America/Sao_Paulo",
    )
    book = openpyxl.load_workbook(io.BytesIO(read_bytes(extract)))
    sheet = book.active
    titles = [sheet.cell(row=r, column=1).value for r in (1, 2, 3)]
    assert "Loja" in titles[0]
    # The list's days are Lisbon days; the file shows their bounds in its own zone.
    assert "America/Sao_Paulo" in titles[1] and "from 2025-12-31T21:00:00-03:00" in titles[1]
    header = [c.value for c in sheet[5]]
    assert header == ["First received", "Amount", "Currency", "Terminal"]
    first, second = [[c.value for c in row] for row in sheet.iter_rows(min_row=6, max_row=7)]
    assert first == [datetime(2026, 1, 15, 8, 0), 1.25, "BHD", 11111]  # 11:00 UTC in São Paulo
    assert second == [datetime(2026, 1, 15, 7, 0), 16.2, "EUR", 11111]
    assert sheet.cell(row=6, column=2).number_format == "#,##0.000"
    assert sheet.cell(row=7, column=2).number_format == "#,##0.00"
    assert sheet.freeze_panes == "A6"
    assert sheet.auto_filter.ref == "A5:D7"


def test_xlsx_continues_on_a_second_sheet_when_one_is_full(world, monkeypatch):
    from extracts import writers

    monkeypatch.setattr(writers._Sheets, "max_rows", 8)  # 3 titles + blank + header + 3 rows
    for i in range(5):
        make_txn(world, minutes_ago=i)
    extract = run(world.m_fiona, format="xlsx", columns=["transaction_id"])
    book = openpyxl.load_workbook(io.BytesIO(read_bytes(extract)))
    assert book.sheetnames == ["Data", "Data 2"]
    ids = [r[0] for s in book.worksheets for r in s.iter_rows(min_row=6, values_only=True)]
    assert len(ids) == 5 == len(set(ids))
    assert book["Data 2"].cell(row=5, column=1).value == "SIBS transaction id"


@pytest.mark.parametrize("fmt", ["csv", "csv_pt", "xlsx"])
def test_formula_injection_is_neutralised(world, fmt):
    make_txn(world, merchant_transaction_id='=HYPERLINK("http://evil.example","Click")', return_message="@SUM(1)")
    make_txn(world, merchant_transaction_id="+351 912", return_message="-2+3", minutes_ago=1)
    make_txn(world, merchant_transaction_id="\tcmd", return_message="\r=1", minutes_ago=2)
    extract = run(world.m_fiona, format=fmt, columns=["merchant_transaction_id", "return_message"])
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(read_bytes(extract))).active
        # OOXML writes a carriage return as _x000D_ (Excel decodes it; openpyxl leaves it).
        cells = [v.replace("_x000D_", "\r") for row in sheet.iter_rows(min_row=6, values_only=True) for v in row]
    else:
        rows = read_csv(extract, delimiter=";" if fmt == "csv_pt" else ",", encoding="utf-8-sig")
        cells = [v for row in rows[1:] for v in row]
    assert sorted(cells) == sorted(
        ['\'=HYPERLINK("http://evil.example","Click")', "'@SUM(1)", "'+351 912", "'-2+3", "'\tcmd", "'\r=1"]
    )


def test_money_is_exact_with_the_currency_decimals(world):
    make_txn(world, amount=Decimal("15.9"), captured_amount=Decimal("15.9"), refunded_amount=Decimal("5.9"))
    make_txn(world, amount=Decimal("1000"), currency="JPY", captured_amount=Decimal("1000"), minutes_ago=1)
    extract = run(world.m_fiona, columns=["amount", "currency", "refundable_amount"])
    assert read_csv(extract)[1:] == [["15.90", "EUR", "10.00"], ["1000", "JPY", "1000"]]
