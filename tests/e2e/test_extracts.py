"""Extracts in a real browser: a Finance user exports the list's current view, watches the
progress reach 100 %, and downloads the file."""

from __future__ import annotations

import csv
import io
import re
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.test_onboarding import sign_in
from tests.extracts.conftest import make_txn

pytestmark = pytest.mark.postgres  # the worker thread needs its own database connection


@pytest.fixture
def background_worker(monkeypatch, settings, tmp_path):
    """Extracts run in a thread a moment after the request commits, as a worker would."""
    from django.db import connections, transaction

    from extracts import services

    settings.STORAGES = {
        **settings.STORAGES,
        "extracts": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    threads = []

    def run(pk: int) -> None:
        try:
            services.extract_run(pk)
        finally:
            connections.close_all()

    def enqueue(pk: int) -> None:
        def start():
            timer = threading.Timer(1.5, run, args=[pk])
            threads.append(timer)
            timer.start()

        transaction.on_commit(start)

    monkeypatch.setattr(services, "_enqueue", enqueue)
    yield
    for t in threads:
        t.join(timeout=20)


def test_finance_exports_the_current_view_and_downloads_it(e2e_world, new_page, background_worker):
    world = e2e_world
    make_txn(world, transaction_id="s2e2e-card-1", payment_method="CARD", minutes_ago=2, amount=Decimal("16.20"))
    make_txn(world, transaction_id="s2e2e-card-2", payment_method="CARD", minutes_ago=1)
    make_txn(world, transaction_id="s2e2e-mbway", payment_method="MBWAY", minutes_ago=3)
    page = new_page()
    sign_in(page, "fiona@loja.example")
    page.wait_for_url("**/m/loja/transactions/")

    # the current view: card payments only
    page.goto("/m/loja/transactions/?method=CARD")
    page.wait_for_function("document.querySelectorAll('[data-testid=txn-row]').length === 2")
    page.click("[data-testid=export-view]")
    page.wait_for_url(lambda url: url.endswith("/m/loja/extracts/?dataset=transactions&method=CARD"))
    assert "2 rows" in page.inner_text("[data-testid=estimate]")

    # start it as CSV for Portuguese Excel
    page.check("[data-testid=format-csv_pt]")
    page.click("[data-testid=start-extract]")
    page.wait_for_url(re.compile(r"/m/loja/extracts/\d+/$"))
    assert page.get_attribute("[data-testid=progress]", "data-state") in ("queued", "running")

    # the bar moves by itself to 100 % and the download appears
    page.wait_for_selector("[data-testid=download]", timeout=20_000)
    assert page.inner_text("[data-testid=percent]") == "100 %"
    with page.expect_download() as info:
        page.click("[data-testid=download]")
    download = info.value
    assert download.suggested_filename.endswith("_Europe-Lisbon_pt.csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert {r[rows[0].index("SIBS transaction id")] for r in rows[1:]} == {"s2e2e-card-1", "s2e2e-card-2"}
