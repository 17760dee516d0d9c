from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from reconciliation import layouts
from reconciliation.parser import ParseReport, parse_lines
from tests.reconciliation.support import line


def parse(*raw: bytes, layout=layouts.V1):
    report = ParseReport()
    rows = list(parse_lines(iter(raw), layout, report))
    return rows, report


def test_a_v1_line_is_read_field_by_field():
    rows, report = parse(line("T1", "20.00", "0.30", mtid="o-1").encode() + b"\n")
    assert report.ok
    (row,) = rows
    assert row.settlement_date == date(2026, 12, 2)
    assert row.transaction_id == "T1"
    assert row.merchant_transaction_id == "o-1"
    assert row.terminal_id == 11111
    assert row.transaction_datetime == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert (row.gross_amount, row.fee_amount, row.net_amount) == (Decimal("20.00"), Decimal("0.30"), Decimal("19.70"))
    assert row.line_key == "T1|PURS|D"


def test_quoted_fields_with_semicolons_and_crlf_are_read():
    raw = b'"2026-12-02";"PAY;1";"T1";"";"";"2026-12-01T10:30:00+01:00";"CARD";"PURS";"-5.00";"0.00";"-5.00";"EUR"\r\n'
    rows, report = parse(raw)
    assert report.ok, report.errors
    assert rows[0].payout_reference == "PAY;1"
    assert rows[0].transaction_datetime == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert rows[0].line_key == "T1|PURS|C"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"2026-12-02;PAY;T1\n", "3 columns where the layout has 12"),
        (line("T1", "20,00", "0.30", net="19.70").encode(), "gross amount (column 9)"),
        (line("T1", "20.001", "0.30", net="19.701").encode(), "at most two decimals"),
        (line("T1", settlement_date="2026-02-30").encode(), "there is no such date"),
        (line("T1", settlement_date="02/12/2026").encode(), "is not a date"),
        (line("T1", when="yesterday").encode(), "ISO 8601"),
        (line("T1", "20.00", "0.30", net="19.00").encode(), "gross - fee ≠ net: 20.00 - 0.30 ≠ 19.00"),
        (line("T1", currency="eur").encode(), "three capital letters"),
        (line("", "20.00").encode(), "SIBS transaction id (column 3): is empty"),
        (line("T1", terminal="12a").encode(), "not a terminal id"),
        ("2026-12-02;PAY;T\xe9;;;2026-12-01T10:30:00Z;CARD;PURS;1.00;0.00;1.00;EUR".encode("latin-1"), "not UTF-8"),
        (b'2026-12-02;"PAY;T1;;;2026-12-01T10:30:00Z;CARD;PURS;1.00;0.00;1.00;EUR', "badly quoted"),
        (b"\n", "empty line"),
    ],
)
def test_every_bad_line_is_refused_with_its_number_and_reason(raw, message):
    good = line("T0").encode()
    rows, report = parse(good, raw)
    assert not report.ok
    assert report.errors[0].line == 2
    assert message in report.errors[0].message
    assert [r.transaction_id for r in rows] == ["T0"]


def test_an_empty_file_is_an_error():
    _, report = parse()
    assert [str(e) for e in report.errors] == ["the file is empty"]


def test_a_custom_column_map_reads_another_order():
    layout = layouts.custom_layout(
        column_count=13,
        positions={
            "transaction_id": 1,
            "settlement_date": 2,
            "payout_reference": 3,
            "transaction_datetime": 4,
            "gross_amount": 5,
            "fee_amount": 6,
            "net_amount": 7,
            "currency": 8,
            "terminal_id": 13,
        },
    )
    rows, report = parse(b"T9;2026-12-02;P1;2026-12-01T00:00:00Z;10.00;1.00;9.00;EUR;x;y;z;w;11111", layout=layout)
    assert report.ok, report.errors
    assert rows[0].transaction_id == "T9" and rows[0].terminal_id == 11111 and rows[0].payment_type == ""


def test_a_column_map_missing_a_required_field_is_refused():
    with pytest.raises(layouts.LayoutError, match="net_amount"):
        layouts.custom_layout(
            column_count=3, positions={"transaction_id": 1, "settlement_date": 2, "payout_reference": 3}
        )


def test_the_generation_time_comes_from_sibs_file_name():
    assert layouts.generated_at_from_name("SIBS_Reconciliation_20261202001503.csv") == datetime(
        2026, 12, 2, 0, 15, 3, tzinfo=UTC
    )
    assert layouts.generated_at_from_name("SIBS_Reconciliation_20261202001503.csv.pgp") is not None
    assert layouts.generated_at_from_name("other.csv") is None


def test_the_documented_layout_is_the_code_layout():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "settlement-format.md").read_text()
    documented = [
        name
        for name in (row.split("|")[2].strip().strip("`") for row in doc.splitlines() if row.startswith("| "))
        if name in layouts.FIELDS
    ]
    assert documented == list(layouts.V1.columns)
