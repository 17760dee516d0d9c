"""The webhook test button: a rate limit says "wait", and the page shows the last test."""

from __future__ import annotations

from tests.webhooks.outbound_support import make_webhook


def test_a_second_click_within_seconds_asks_to_wait_and_the_page_shows_the_last_test(world, login):
    webhook = make_webhook(world.loja, url="https://127.0.0.1/hooks", key="k" * 44)  # refused: a local address
    client = login(world.alice)
    url = f"/m/loja/webhooks/{webhook.pk}/test/"
    first = client.post(url, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-verdict="unreachable"' in first
    second = client.post(url, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-verdict="wait"' in second and "wait a few seconds" in second
    assert "Not reachable" not in second and "Reachable" not in second

    page = client.get(f"/m/loja/webhooks/{webhook.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "nothing tried" not in page
    assert 'data-testid="last-test"' in page and "Not acknowledged" in page
