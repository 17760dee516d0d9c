"""Activation codes: valid 4 days, single use, stored hashed, locked after 5 wrong tries,
replaced by a reissue, with a clear message for each case."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from backoffice import services
from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import ActivationCode, AuditEvent, Membership, User
from backoffice.roles import Role

NEW_PASSWORD = "a-long-and-new-password"


def invite(world, email="nina@loja.example", role=Role.VIEWER, stores=(), by=None):
    by = by or world.alice
    access = Access.for_membership(Membership.objects.get(user=by, merchant=world.loja))
    return services.user_invite(access=access, actor=Actor(user=by), email=email, role=role, stores=list(stores))


def code_from_mail(message) -> str:
    return re.search(r"activation code: ([A-Z0-9]{5}-[A-Z0-9]{5})", message.body).group(1)


def test_invite_sends_a_code_that_is_stored_hashed(world, django_capture_on_commit_callbacks):
    # given / when
    with django_capture_on_commit_callbacks(execute=True):
        result = invite(world)
    # then
    assert result.user_created and result.activation_code
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nina@loja.example"]
    code = code_from_mail(message)
    assert code.replace("-", "") == result.activation_code
    stored = ActivationCode.objects.get(user__email="nina@loja.example")
    assert result.activation_code not in stored.code_hash
    assert "http://testserver/activate/?email=nina@loja.example" in message.body
    user = User.objects.get(email="nina@loja.example")
    assert not user.has_usable_password() and not user.is_active


def test_activation_sets_password_and_marks_code_used(world):
    result = invite(world)
    user = services.account_activate(
        email="NINA@loja.example ", code=result.activation_code.lower(), password=NEW_PASSWORD
    )
    assert user.check_password(NEW_PASSWORD) and user.is_active and user.activated_at
    assert ActivationCode.objects.get(user=user).used_at is not None
    assert AuditEvent.objects.filter(action="user.activated", object_id=str(user.pk)).exists()


def test_code_is_single_use(world):
    result = invite(world)
    services.account_activate(email="nina@loja.example", code=result.activation_code, password=NEW_PASSWORD)
    with pytest.raises(services.ActivationError) as exc:
        services.account_activate(email="nina@loja.example", code=result.activation_code, password="another-password-1")
    assert exc.value.code == "used"
    assert "already been used" in exc.value.message


def test_code_valid_until_just_before_four_days_and_expired_at_exactly_four_days(world):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        result = invite(world)
    with time_machine.travel(start + timedelta(days=4) - timedelta(seconds=1), tick=False):
        user = services.account_activate(email="nina@loja.example", code=result.activation_code, password=NEW_PASSWORD)
        assert user.is_active

    with time_machine.travel(start, tick=False):
        other = invite(world, email="otto@loja.example")
    with time_machine.travel(start + timedelta(days=4), tick=False), pytest.raises(services.ActivationError) as exc:
        services.account_activate(email="otto@loja.example", code=other.activation_code, password=NEW_PASSWORD)
    assert exc.value.code == "expired"
    assert "expired" in exc.value.message


def test_five_wrong_codes_lock_the_code_even_for_the_right_one(world):
    result = invite(world)
    messages = []
    for _ in range(5):
        with pytest.raises(services.ActivationError) as exc:
            services.account_activate(email="nina@loja.example", code="WRONG-CODE0", password=NEW_PASSWORD)
        messages.append((exc.value.code, exc.value.message))
    # the same words every time, and the same as for an e-mail nobody was invited with
    assert {message for _code, message in messages} == {stranger_answer()}
    assert messages[4][0] == "locked"
    with pytest.raises(services.ActivationError) as exc:
        services.account_activate(email="nina@loja.example", code=result.activation_code, password=NEW_PASSWORD)
    assert exc.value.code == "locked" and exc.value.message == stranger_answer()
    assert ActivationCode.objects.get(user__email="nina@loja.example").failed_attempts == 5


def stranger_answer() -> str:
    with pytest.raises(services.ActivationError) as exc:
        services.account_activate(email="nobody@loja.example", code="WRONG-CODE0", password=NEW_PASSWORD)
    return exc.value.message


def test_reissue_invalidates_the_previous_code_and_unlocks(world):
    first = invite(world)
    for _ in range(5):
        with pytest.raises(services.ActivationError):
            services.account_activate(email="nina@loja.example", code="WRONGWRONG", password=NEW_PASSWORD)
    membership = Membership.objects.get(user__email="nina@loja.example")
    access = Access.for_membership(world.m_alice)
    second = services.activation_code_resend(access=access, actor=Actor(user=world.alice), membership=membership)

    with pytest.raises(services.ActivationError) as exc:
        services.account_activate(email="nina@loja.example", code=first.activation_code, password=NEW_PASSWORD)
    assert exc.value.code == "superseded"
    assert "newer activation code" in exc.value.message
    user = services.account_activate(email="nina@loja.example", code=second, password=NEW_PASSWORD)
    assert user.is_active


def test_weak_password_does_not_burn_the_code(world):
    result = invite(world)
    with pytest.raises(services.ActivationError) as exc:
        services.account_activate(email="nina@loja.example", code=result.activation_code, password="short")
    assert exc.value.code == "weak_password"
    assert "at least 12 characters" in exc.value.message
    code = ActivationCode.objects.get(user__email="nina@loja.example")
    assert code.used_at is None and code.failed_attempts == 0
    services.account_activate(email="nina@loja.example", code=result.activation_code, password=NEW_PASSWORD)


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("nobody@loja.example", "ABCDE-FGHJK"),
        ("", "ABCDE-FGHJK"),
        ("nina@loja.example", ""),
        ("nina@loja.example", "x" * 5000),
        ("nina@loja.example", "' OR 1=1 --"),
        ("nina@loja.example", "<script>alert(1)</script>"),
        ("nina@loja.example", "ÀÉÎÕÜ-ção"),
    ],
)
def test_wrong_or_hostile_input_gets_the_same_clear_message(world, email, code):
    invite(world)
    with pytest.raises(services.ActivationError) as exc:
        services.account_activate(email=email, code=code, password=NEW_PASSWORD)
    assert exc.value.code in {"wrong"}
    assert exc.value.message.startswith("The e-mail or the activation code is not correct.")


def test_existing_user_invited_to_a_second_merchant_keeps_their_password(world, django_capture_on_commit_callbacks):
    # given mallory, who already has an account at Outra Loja
    # when Loja's Owner invites her
    with django_capture_on_commit_callbacks(execute=True):
        result = invite(world, email="Mallory@Outra.example", role=Role.FINANCE)
    # then she gets the membership and a note, no code, and her password still works
    assert not result.user_created and result.activation_code is None
    assert result.membership.user == world.mallory
    assert not ActivationCode.objects.filter(user=world.mallory).exists()
    world.mallory.refresh_from_db()
    assert world.mallory.check_password("correct horse battery staple")
    assert "You now have access to Loja" in mail.outbox[0].subject


def test_person_waiting_for_activation_invited_elsewhere_gets_a_fresh_code(world):
    first = invite(world)
    access = Access.for_membership(world.m_mallory)
    second = services.user_invite(
        access=access, actor=Actor(user=world.mallory), email="nina@loja.example", role=Role.VIEWER
    )
    assert second.activation_code and second.activation_code != first.activation_code
    with pytest.raises(services.ActivationError) as exc:
        services.account_activate(email="nina@loja.example", code=first.activation_code, password=NEW_PASSWORD)
    assert exc.value.code == "superseded"
    user = services.account_activate(email="nina@loja.example", code=second.activation_code, password=NEW_PASSWORD)
    assert set(user.memberships.values_list("merchant__slug", flat=True)) == {"loja", "outra"}


def test_invitation_email_in_portuguese(world, django_capture_on_commit_callbacks):
    access = Access.for_membership(world.m_alice)
    with django_capture_on_commit_callbacks(execute=True):
        services.user_invite(
            access=access, actor=Actor(user=world.alice), email="ze@loja.example", role=Role.VIEWER, language="pt"
        )
    assert "código de ativação" in mail.outbox[0].subject.lower()


# --- the page ---------------------------------------------------------------------------------


def test_activation_page_logs_the_user_in(client, world):
    result = invite(world)
    response = client.post(
        "/activate/",
        {
            "email": "nina@loja.example",
            "code": result.activation_code,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/m/loja/transactions/"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"email": "not-an-email", "code": "X", "password1": "p" * 12, "password2": "p" * 12},
            "email",
            "Enter a valid email address.",
        ),
        (
            {"email": "nina@loja.example", "code": "", "password1": "p" * 12, "password2": "p" * 12},
            "code",
            "This field is required.",
        ),
        (
            {"email": "nina@loja.example", "code": "A" * 33, "password1": "p" * 12, "password2": "p" * 12},
            "code",
            "Ensure this value has at most 32 characters",
        ),
        (
            {
                "email": "nina@loja.example",
                "code": "ABCDEFGHJK",
                "password1": "a-long-password-1",
                "password2": "a-long-password-2",
            },
            "password2",
            "The two passwords are not the same.",
        ),
        (
            {"email": "nina@loja.example", "code": "WRONGCODE1", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
            "code",
            "The e-mail or the activation code is not correct.",
        ),
    ],
)
def test_activation_page_explains_bad_input(client, world, data, field, message):
    invite(world)
    response = client.post("/activate/", data)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert message in errors
    assert not User.objects.get(email="nina@loja.example").has_usable_password()


def test_activation_page_refuses_a_post_without_csrf(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/activate/", {"email": "x@y.z", "code": "A", "password1": "b", "password2": "b"})
    assert response.status_code == 403


def test_activation_attempts_are_limited_per_client_address(client, world, settings):
    # given someone sprays e-mails from one address
    settings.ACTIVATION_ATTEMPTS_PER_IP = 3
    result = invite(world)
    data = {"code": "WRONGCODE1", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    for n in range(3):
        response = client.post("/activate/", {**data, "email": f"guess{n}@loja.example"})
        assert "not correct" in " ".join(response.context["form"].errors["code"])
    # when the limit is reached, even nina's right code waits from that address
    right = {**data, "email": "nina@loja.example", "code": result.activation_code}
    response = client.post("/activate/", right)
    assert "Too many activation attempts" in " ".join(response.context["form"].errors["code"])
    assert ActivationCode.objects.get(user__email="nina@loja.example").failed_attempts == 0
    # and from her own address she activates
    assert Client(REMOTE_ADDR="192.0.2.44").post("/activate/", right).status_code == 302
