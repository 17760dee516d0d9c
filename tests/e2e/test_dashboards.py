"""The dashboards in a real browser: a Finance user sees plotly draw the charts, switches to
Portuguese, and a click on a bar opens the transaction list filtered to that bar."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from payments.dashboards import services
from tests.e2e.test_onboarding import sign_in
from tests.webhooks.support import deliver, notification


def test_finance_opens_the_dashboards_and_drills_down_from_a_bar(e2e_world, new_page):
    world = e2e_world
    now = timezone.now()
    for days, terminal, amount, status in (
        (1, 11111, "10.00", "Success"),
        (1, 22222, "20.00", "Success"),
        (2, 11111, "5.00", "Declined"),
        (3, 22222, "7.50", "Success"),
    ):
        deliver(
            world.loja,
            notification(
                paymentStatus=status,
                token=None,
                amount={"value": amount, "currency": "EUR"},
                merchant={"transactionId": f"e2e-{days}-{amount}", "terminalId": terminal},
            ),
            received_at=now - timedelta(days=days),
        )
    services.rollups_sweep()

    page = new_page()
    sign_in(page, "fiona@loja.example")
    page.wait_for_url("**/m/loja/**")
    page.goto("/m/loja/dashboards/history/?period=7d&compare=none")
    # plotly drew its SVG in every chart
    page.wait_for_selector("[data-testid=chart-volume] .chart-plot svg.main-svg")
    assert page.locator(".chart-plot svg.main-svg").count() >= 8
    assert page.locator("[data-testid=chart-volume] .chart-plot g.point").count() >= 3

    # the table view is the chart's numbers
    page.click("[data-testid=chart-volume] [data-table-toggle]")
    table = page.locator("#chart-volume-table")
    assert table.is_visible() and "€37.50" not in table.inner_text()  # one bar per day, not a total
    assert "€20.00" in table.inner_text() or "€30.00" in table.inner_text()
    page.click("[data-testid=chart-volume] [data-table-toggle]")

    # in Portuguese: labels and numbers
    page.select_option("[data-testid=language-switch]", "pt")
    page.wait_for_selector("text=Análise histórica")
    page.wait_for_selector("[data-testid=chart-volume] .chart-plot svg.main-svg")
    assert "Taxa de sucesso" in page.content()
    assert "37,50\u00a0€" in page.locator("[data-testid=summary]").inner_text()

    # a click on the biggest bar opens the list filtered to that day, method and successes
    page.locator("[data-testid=chart-volume] .chart-plot").scroll_into_view_if_needed()
    bars = page.locator("[data-testid=chart-volume] .chart-plot g.point path").all()
    tallest = max((b.bounding_box() for b in bars), key=lambda box: box["height"] if box else 0)
    page.mouse.move(tallest["x"] + tallest["width"] / 2, tallest["y"] + tallest["height"] / 2)
    page.mouse.click(tallest["x"] + tallest["width"] / 2, tallest["y"] + tallest["height"] / 2)
    page.wait_for_url("**/m/loja/transactions/?**")
    assert "method=MBWAY" in page.url and "status=paid" in page.url
    rows = page.locator("[data-testid=txn-row]")
    rows.first.wait_for()
    assert rows.count() >= 1
