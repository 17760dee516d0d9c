"""The COPY path writes byte for byte the file the Python path writes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from backoffice.access import Access
from backoffice.audit import Actor
from extracts import copy as copy_path
from extracts import services
from extracts.models import ExtractState
from tests.extracts.conftest import make_txn
from tests.extracts.support import params, read_bytes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

AWKWARD = [
    '=HYPERLINK("http://evil.example","x")',
    "+351 912 345 678",
    "-5",
    "@SUM(A1)",
    "\tindented",
    "\rreturn",
    'quote " inside',
    "semi; colon, comma",
    "line\nbreak",
    "windows\r\nbreak",
    "São João — ação ✓",
    "",
    None,
    "\\.",
]


@pytest.fixture
def awkward(world):
    for i, text in enumerate(AWKWARD):
        make_txn(
            world,
            created_at=datetime(2026, 3, 29, 0, 30 + i, tzinfo=UTC),  # the night summer time starts
            merchant_transaction_id=text,
            return_message=text or "",
            internal_transaction_id=None if i % 2 else f"int-{i}",
            state=["paid", "refunded", "weird_state", "declined"][i % 4],
            payment_method=["MBWAY", "CARD", "REFERENCE", "NEWTHING"][i % 4],
            amount=[Decimal("16.20"), Decimal("1250"), Decimal("1.250"), None][i % 4],
            currency=["EUR", "JPY", "BHD", ""][i % 4],
            captured_amount=Decimal("16.2"),
            refunded_amount=Decimal("20"),
            reference_expiry=datetime(2026, 10, 25, 0, 59, 59, 999999, tzinfo=UTC) if i % 3 == 0 else None,
            terminal=world.t_porto if i % 5 == 0 else world.t_lisboa,
        )


def both_paths(membership, **values):
    access = Access.for_membership(membership)
    files = []
    for use_copy in (False, True):
        extract = services.extract_request(access=access, actor=Actor(user=membership.user), params=params(**values))
        services.extract_run(extract.pk, use_copy=use_copy)
        extract.refresh_from_db()
        assert extract.state == ExtractState.DONE, extract.error
        files.append((extract.rows_written, read_bytes(extract)))
    return files


@pytest.mark.parametrize("fmt", ["csv", "csv_pt"])
@pytest.mark.parametrize("zone", ["Europe/Lisbon", "America/Sao_Paulo"])
@pytest.mark.parametrize("preset", ["operations", "finance"])
def test_copy_and_python_paths_write_the_same_bytes(world, awkward, fmt, zone, preset, monkeypatch):
    copies = []
    real = copy_path.write
    monkeypatch.setattr(copy_path, "write", lambda *a, **k: copies.append(1) or real(*a, **k))
    (python_rows, python_file), (copy_rows, copy_file) = both_paths(world.m_fiona, format=fmt, zone=zone, preset=preset)
    assert copies == [1]  # the second file did go through COPY
    assert python_rows == copy_rows == len(AWKWARD)
    assert copy_file == python_file


def test_every_transaction_column_but_the_json_ones_has_an_sql_form(world):
    from extracts import registry

    dataset = registry.get("transactions")
    plain = [c for c in dataset.columns if not c.key.startswith("qr_")]
    assert all(copy_path.column_sql(c, "csv") is not None for c in plain)


def test_a_column_without_sql_takes_the_python_path(world, awkward):
    # QR product comes from JSON: no SQL form, so the whole file is written by Python.
    (python_rows, python_file), (copy_rows, copy_file) = both_paths(
        world.m_fiona, format="csv", columns=["transaction_id", "qr_product"]
    )
    assert python_rows == copy_rows and python_file == copy_file
