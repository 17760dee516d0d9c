"""Only what the person may do is offered, from the rules the server enforces; account pages look
like the rest of the backoffice."""

from __future__ import annotations

import re

from tests.factories import give_totp


def _row(body: str, email: str) -> str:
    return re.search(rf"<tr>\s*<td>{re.escape(email)}.*?</tr>", body, re.S).group(0)


def test_an_administrator_is_not_offered_to_change_the_owner(world, login):
    client = login(world.adam)
    body = client.get("/m/loja/users/").content.decode()
    owner_row = _row(body, "alice@loja.example")
    assert "Owner" in owner_row and "Edit" not in owner_row and "Remove" not in owner_row
    operator_row = _row(body, "bob@loja.example")
    assert "Edit" in operator_row and "Remove" in operator_row
    assert client.get(f"/m/loja/users/{world.m_alice.pk}/").status_code == 403
    assert "confirm(" not in body and "data-confirm=" in body


def test_the_second_factor_page_offers_deactivate_only_to_roles_that_may_drop_it(world, login):
    owner = login(world.alice).get("/accounts/2fa/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="mfa-required"' in owner and "/accounts/2fa/totp/deactivate/" not in owner
    assert "Two-factor authentication" in owner and 'class="sidenav"' in owner  # sentence case, the menu

    give_totp(world.fiona)  # Finance may use a second factor without being required to
    finance = login(world.fiona).get("/accounts/2fa/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "/accounts/2fa/totp/deactivate/" in finance and 'data-testid="mfa-required"' not in finance


def test_the_password_page_has_the_menu_and_the_backoffice_buttons(world, login):
    body = login(world.fiona).get("/accounts/password/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="sidenav"' in body and "Change password" in body and "Change Password" not in body
    assert 'class="panel narrow account-form"' in body and 'class="button primary"' in body
