"""“Which webhook applies?”: for a terminal and a notification type, the winner and why."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backoffice.roles import Role
from payments.sibs.envelope import generate_secret
from tests.factories import make_membership, make_user
from tests.webhooks.outbound_support import make_webhook

PAGE = reverse("webhooks:resolution", kwargs={"merchant": "loja"})
URL = "https://93.184.216.34/hook"


def ask(client, terminal, notification_type="mbway"):
    return client.get(PAGE, {"terminal": f"terminal:{terminal.pk}", "notification_type": notification_type})


def verdicts(response) -> dict[str, str]:
    return {
        row.webhook.name if row.webhook else "(hidden)": row.verdict for row in response.context["explanation"].rows
    }


def test_the_terminal_webhook_wins_over_the_merchant_one(world, login):
    make_webhook(world.loja, name="Merchant ERP", url=URL, key=generate_secret(), types=["mbway", "card"])
    make_webhook(world.loja, name="Lisboa till", url=URL + "/t", terminal=world.t_lisboa, types=["mbway"])
    response = ask(login(world.adam), world.t_lisboa)
    assert response.status_code == 200
    explanation = response.context["explanation"]
    assert [w.name for w in explanation.winners] == ["Lisboa till"] and explanation.level == "terminal"
    assert verdicts(response) == {"Lisboa till": "applies", "Merchant ERP": "shadowed"}
    html = response.content.decode()
    assert "a terminal webhook wins over store and merchant ones" in explanation.reason
    assert 'data-testid="winner">Lisboa till<' in html and "Merchant ERP" in html
    # another type from the same terminal: the terminal webhook does not cover it, the merchant one does
    card = ask(login(world.adam), world.t_lisboa, "card")
    assert [w.name for w in card.context["explanation"].winners] == ["Merchant ERP"]
    assert verdicts(card) == {"Lisboa till": "other_types", "Merchant ERP": "applies"}
    # a terminal of another store is not concerned by the Lisboa terminal's webhook
    porto = ask(login(world.adam), world.t_porto)
    assert [w.name for w in porto.context["explanation"].winners] == ["Merchant ERP"]
    assert "Lisboa till" not in verdicts(porto)


def test_the_store_level_and_a_disabled_webhook(world, login):
    make_webhook(world.loja, name="Merchant ERP", url=URL, key=generate_secret(), types=["mbway"])
    make_webhook(world.loja, name="Porto shop", url=URL + "/s", store=world.porto, types=["mbway"])
    make_webhook(
        world.loja, name="Porto till", url=URL + "/t", terminal=world.t_porto, types=["mbway"], is_active=False
    )
    response = ask(login(world.alice), world.t_porto)
    explanation = response.context["explanation"]
    assert [w.name for w in explanation.winners] == ["Porto shop"] and explanation.level == "store"
    assert verdicts(response) == {"Porto till": "disabled", "Porto shop": "applies", "Merchant ERP": "shadowed"}
    assert "no active webhook is configured for the terminal itself" in explanation.reason


def test_nothing_applies(world, login):
    make_webhook(world.loja, name="Cards only", url=URL, key=generate_secret(), types=["card"])
    response = ask(login(world.alice), world.t_lisboa, "xpay")
    assert response.context["explanation"].winners == []
    assert 'data-testid="no-winner"' in response.content.decode()
    assert "not relayed" in response.context["explanation"].reason


@pytest.mark.parametrize(
    "params",
    [
        {"terminal": "terminal:999999", "notification_type": "mbway"},
        {"terminal": "merchant", "notification_type": "mbway"},
        {"terminal": "terminal:abc", "notification_type": "mbway"},
        {"terminal": "x" * 5000, "notification_type": "mbway"},
        {"terminal": "", "notification_type": "mbway"},
        {"notification_type": "bitcoin"},
    ],
)
def test_malformed_questions_are_refused(world, login, params):
    response = login(world.alice).get(PAGE, params)
    assert response.status_code == 400
    assert response.context["explanation"] is None


def test_another_merchants_terminal_is_refused(world, login):
    make_webhook(world.outra, name="Outra ERP", url=URL, key=generate_secret(), terminal=world.t_outra)
    response = ask(login(world.alice), world.t_outra)
    assert response.status_code == 400
    assert "is not one of them" in response.content.decode() and "Outra ERP" not in response.content.decode()
    assert login(world.mallory).get(PAGE).status_code == 404


def test_roles_without_the_capability_cannot_ask(world, login):
    assert login(world.bob).get(PAGE).status_code == 403
    assert login(world.paula).get(PAGE).status_code == 403


def test_a_store_limited_admin_learns_a_merchant_webhook_applies_but_not_its_details(world, login):
    pedro = make_user("pedro@loja.example")
    make_membership(pedro, world.loja, Role.ADMINISTRATOR, stores=[world.porto])
    make_webhook(world.loja, name="Secret ERP", url=URL + "/secret", key=generate_secret(), types=["mbway"])
    make_webhook(world.loja, name="Porto till", url=URL + "/t", terminal=world.t_porto, types=["card"])
    client = login(pedro)
    response = ask(client, world.t_porto)
    explanation = response.context["explanation"]
    assert explanation.hidden_winner and explanation.winners == []
    html = response.content.decode()
    assert "Secret ERP" not in html and "/secret" not in html
    assert "A webhook for the whole merchant" in html
    assert verdicts(response) == {"Porto till": "other_types", "(hidden)": "applies"}
    # their terminal wins for cards, and the shadowed merchant webhook stays unnamed
    card = ask(client, world.t_porto, "card")
    assert [w.name for w in card.context["explanation"].winners] == ["Porto till"]
    assert "Secret ERP" not in card.content.decode()
    # the Lisboa terminal is not theirs to ask about
    assert ask(client, world.t_lisboa).status_code == 400
