"""403, 404 and 500 are styled pages in the person's language, inside the layout when signed in."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from backoffice.errors import ForbiddenWithoutTraceback


def test_403_inside_the_layout_in_portuguese_with_a_way_back(world, login):
    client = login(world.victor)  # a Viewer may not manage users
    response = client.get("/m/loja/users/", HTTP_ACCEPT_LANGUAGE="pt")
    body = response.content.decode()
    assert response.status_code == 403
    assert "Sem permissão" in body and 'class="sidenav"' in body
    assert 'href="/m/loja/"' in body


def test_404_in_english_when_signed_out_offers_sign_in(db):
    response = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body and "/accounts/login/" in body and 'class="sidenav"' not in body


def test_404_of_another_merchant_keeps_the_signed_in_look(world, login):
    client = login(world.alice)
    response = client.get("/m/outra/transactions/", HTTP_ACCEPT_LANGUAGE="pt")
    assert response.status_code == 404
    assert "Página não encontrada" in response.content.decode()


def test_api_errors_stay_json(world):
    response = Client().get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("language", "title"), [("pt", "Algo correu mal"), ("en", "Something went wrong")])
def test_500_page_is_styled_and_translated(rf, language, title):
    from django.utils import translation

    from backoffice.errors import server_error

    with translation.override(language):
        response = server_error(rf.get("/m/loja/"))
    body = response.content.decode()
    assert response.status_code == 500 and title in body and "app.css" in body


def test_a_403_is_logged_without_its_traceback():
    try:
        raise PermissionError("nope")
    except PermissionError:
        import sys

        record = logging.LogRecord("django.request", logging.WARNING, "", 0, "Forbidden", (), sys.exc_info())
    record.status_code = 403
    assert ForbiddenWithoutTraceback().filter(record) is True
    assert record.exc_info is None
    other = logging.LogRecord("django.request", logging.ERROR, "", 0, "Boom", (), (ValueError, ValueError(), None))
    other.status_code = 500
    ForbiddenWithoutTraceback().filter(other)
    assert other.exc_info is not None


def test_a_section_not_built_yet_says_so_and_what_it_will_do(world, login):
    from django.urls import resolve, reverse

    from backoffice.navigation import SECTIONS

    placeholders = [
        reverse(s.url_name, kwargs={"merchant": "loja"})
        for s in SECTIONS
        if resolve(reverse(s.url_name, kwargs={"merchant": "loja"})).func.__name__.endswith("_placeholder")
    ]
    if not placeholders:
        pytest.skip("every section is built")
    body = login(world.alice).get(placeholders[0], HTTP_ACCEPT_LANGUAGE="pt").content.decode()
    assert "Em breve" in body and "está a ser construída" in body
    assert "Nothing here yet" not in body and "Nada aqui" not in body
