"""Search finds a transaction by the start of its SIBS id or order id, on an index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import QueryDict

from payments.models import Transaction
from payments.selectors import listing
from tests.payments.test_listing import access_of, make_txn


def _found(world, text: str) -> list[str]:
    access = access_of(world.m_alice)
    filters, _errors, _form = listing.parse_filters(QueryDict(f"q={text}"), access=access)
    return sorted(t.transaction_id for t in listing.transaction_page(access=access, filters=filters).rows)


def test_the_start_of_an_order_id_or_a_sibs_id_finds_it(world):
    make_txn(world, transaction_id="DGS2N2QLxyzxyzxyz001", merchant_transaction_id="ORD-261208-0042")
    make_txn(world, transaction_id="s2HUabcdefghijklmn02", merchant_transaction_id="ORD-261209-0001")
    make_txn(
        world,
        transaction_id="s2other0000000000003",
        merchant_transaction_id="WEB-77",
        merchant=world.outra,
        terminal=world.t_outra,
    )
    assert _found(world, "ORD-261208") == ["DGS2N2QLxyzxyzxyz001"]
    assert _found(world, "ORD-2612") == ["DGS2N2QLxyzxyzxyz001", "s2HUabcdefghijklmn02"]
    assert _found(world, "DGS2N2QL") == ["DGS2N2QLxyzxyzxyz001"]
    assert _found(world, "s2HU") == ["s2HUabcdefghijklmn02"]
    assert _found(world, "ORD") == []  # too short to be a prefix: exact matches only
    assert _found(world, "WEB-") == []  # another merchant's
    assert _found(world, "ORD-261208-0042") == ["DGS2N2QLxyzxyzxyz001"]  # exact still works
    # a search with LIKE wildcards looks for them literally
    assert _found(world, "ORD%25") == [] and _found(world, "ORD_") == []


def test_a_live_row_matches_the_same_prefixes(world):
    txn = make_txn(world, transaction_id="s2HUabcdefghijklmn09", merchant_transaction_id="ORD-261208-0042")
    assert listing.Search.parse("ORD-2612").matches(txn)
    assert listing.Search.parse("s2HUab").matches(txn)
    assert not listing.Search.parse("RD-2612").matches(txn)


@pytest.mark.postgres
def test_prefix_searches_use_the_pattern_indexes(world):
    if connection.vendor != "postgresql":
        pytest.skip("the pattern operator class is PostgreSQL's")
    template = make_txn(world, merchant_transaction_id="ORD-261208-0042")
    rows = []
    for n in range(3000):  # enough rows for the planner to prefer a selective index
        row = Transaction(**{f.attname: getattr(template, f.attname) for f in Transaction._meta.concrete_fields})
        row.pk, row.id = None, None
        row.transaction_id, row.merchant_transaction_id = f"s2bulk{n:014d}", f"WEB-{n:08d}"
        rows.append(row)
    Transaction.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_transaction")
    for field, index in (
        ("merchant_transaction_id", "txn_merchant_mtid_prefix"),
        ("transaction_id", "txn_merchant_tid_prefix"),
    ):
        plan = (
            Transaction.objects.filter(merchant=world.loja, **{f"{field}__startswith": "ORD-2612"}).order_by().explain()
        )
        assert index in plan, plan
