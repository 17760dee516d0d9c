"""Headers and exposure: CSP without inline scripts, Permissions-Policy, no-store for signed-in
answers, a Server header naming no software, the API schema behind sign-in, the inbound fast
path under the same rules, and short idle timeouts that stay idle timeouts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD
from tests.payments.test_api_operations import api, key_for
from tests.webhooks.support import add_secret, inbound_path, notification
from tests.webhooks.test_fast_path import call, encrypted  # noqa: F401  (fixture)
from webhooks.inbound.wsgi import with_inbound_fast_path
from webhooks.models import InboundNotification

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def _policy(response) -> dict[str, str]:
    parts = [part.strip() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {part.split()[0]: part for part in parts}


def test_pages_carry_a_csp_without_inline_scripts_and_have_none(world, login):
    client = login(world.alice)
    pages = [
        "/m/loja/transactions/",
        "/m/loja/users/",
        "/m/loja/api-keys/",
        "/m/loja/payment-methods/",
        "/m/loja/webhooks/",
        "/m/loja/webhooks/new/",
        "/m/loja/audit/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = _policy(response)
        assert policy["script-src"] == "script-src 'self'", url
        assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in response["Content-Security-Policy"]
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html).group(0))
        assert not INLINE_HANDLER.search(html), (url, INLINE_HANDLER.search(html).group(0))
        assert "/static/js/page.js" in html


def test_the_public_pages_have_no_inline_script_either():
    for url in ("/accounts/login/", "/activate/"):
        response = Client().get(url)
        html = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), url


def test_permissions_policy_and_server_on_every_answer(world):
    for response in (Client().get("/accounts/login/"), Client().get("/healthz"), Client().get("/nowhere/")):
        assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
        assert response["Server"] == "backoffice"


def test_signed_in_pages_and_api_answers_are_not_stored(world, login):
    page = login(world.alice).get("/m/loja/transactions/")
    assert "no-store" in page["Cache-Control"]
    answer = api(key_for(world)).get("/api/v1/transactions")
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    # a public file keeps its own caching
    assert "no-store" not in Client().get("/static/js/page.js").get("Cache-Control", "")


def test_the_schema_and_docs_need_a_person_or_a_key_in_production(world, login, settings):
    settings.API_DOCS_PUBLIC = False
    for url in ("/api/v1/schema/", "/api/v1/docs/", "/api/v1/docs/?script="):
        assert Client().get(url).status_code == 401, url
        assert api(key_for(world)).get(url).status_code == 200, url
    assert login(world.alice).get("/api/v1/docs/").status_code == 200
    settings.API_DOCS_PUBLIC = True
    assert Client().get("/api/v1/schema/").status_code == 200


def test_the_docs_page_runs_no_inline_script(world, login):
    html = login(world.alice).get("/api/v1/docs/").content.decode()
    assert 'src="/api/v1/docs/?script="' in html and not INLINE_SCRIPT.search(html)


def _refuse_django(environ, start_response):
    raise AssertionError("the fast path answers inbound notifications itself")


def test_the_fast_path_checks_allowed_hosts(world, call):  # noqa: F811
    secret = add_secret(world.loja)
    body, headers = encrypted(secret, notification())
    status, _headers, content = call(
        with_inbound_fast_path(_refuse_django),
        inbound_path(world.loja),
        body=body,
        headers={**headers, "HTTP_HOST": "evil.example"},
    )
    assert status.startswith("400"), content
    assert not InboundNotification.objects.exists()


def test_the_fast_path_sends_the_site_security_headers(world, call, settings):  # noqa: F811
    settings.SECURE_HSTS_SECONDS = 31536000
    secret = add_secret(world.loja)
    body, headers = encrypted(secret, notification())
    status, response_headers, _content = call(
        with_inbound_fast_path(_refuse_django),
        inbound_path(world.loja),
        body=body,
        headers={**headers, "wsgi.url_scheme": "https"},
    )
    assert status == "200 OK"
    assert response_headers["X-Content-Type-Options"] == "nosniff"
    assert response_headers["Referrer-Policy"] == "same-origin"
    assert response_headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response_headers["Content-Security-Policy"]
    assert "camera=()" in response_headers["Permissions-Policy"]
    assert response_headers["Server"] == "backoffice"
    assert response_headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_one_minute_idle_timeout_stays_an_idle_timeout(client, world, settings):
    settings.SESSION_IDLE_TIMEOUT = settings.SESSION_COOKIE_AGE = 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/login/", {"login": "victor@loja.example", "password": PASSWORD})
        client.get("/m/loja/transactions/")
    key = client.session.session_key
    written = Session.objects.get(session_key=key).expire_date
    # activity every 20 s keeps it alive well past a minute: each one past 15 s is written
    for seconds in (20, 40, 60, 80, 100):
        with time_machine.travel(start + timedelta(seconds=seconds), tick=False):
            assert client.get("/m/loja/transactions/").status_code == 200, seconds
    assert Session.objects.get(session_key=key).expire_date > written + timedelta(seconds=60)
    # and a minute of idleness ends it
    with time_machine.travel(start + timedelta(seconds=161), tick=False):
        response = client.get("/m/loja/transactions/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_no_template_carries_an_inline_script_or_handler():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        text = template.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text):
            offenders.append(str(template.relative_to(root)))
    assert not offenders, f"inline scripts would be refused by the Content-Security-Policy: {offenders}"
