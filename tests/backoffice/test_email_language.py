"""E-mails speak the person's language, are signed with the product, and their links keep it."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

from backoffice import services
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.roles import Role


def test_a_portuguese_invitation_opens_the_activation_page_in_portuguese(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.user_invite(
            access=Access.for_membership(world.m_alice),
            actor=Actor(user=world.alice),
            email="nina+loja@loja.example",
            role=Role.VIEWER,
            language="pt",
        )
    (message,) = mail.outbox
    link = re.search(r"http://\S+/activate/\?\S+", message.body).group(0)
    assert "lang=pt" in link and "email=nina%2Bloja@loja.example" in link
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(link)
    assert page.status_code == 200 and 'lang="pt"' in page.content.decode()
    assert client.cookies["django_language"].value == "pt"
    assert 'lang="pt"' in client.get("/accounts/login/").content.decode()  # and it stays


def test_an_unknown_lang_in_a_link_is_ignored():
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accounts/login/?lang=xx")
    assert 'lang="en"' in page.content.decode() and "django_language" not in page.cookies


def test_the_password_reset_email_is_branded_and_in_the_persons_language(world, settings):
    settings.SITE_URL = "https://backoffice.loja.example"
    world.bob.language = "pt"
    world.bob.save(update_fields=["language"])
    Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/password/reset/", {"email": "bob@loja.example"})
    (message,) = mail.outbox
    assert "127.0.0.1" not in message.body and "testserver" not in message.body.split("http")[0]
    assert "SIBS Backoffice" in message.body and "https://backoffice.loja.example" in message.body
    assert "Olá" in message.body and "Hello from" not in message.body
