"""Method settings: merchant → store → terminal inheritance, SIBS's entity rule, hostile input,
who may change what (store-limited administrators included)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backoffice.models import AuditEvent
from payments.methods import selectors
from payments.methods.models import MethodSetting
from payments.methods.resolution import MERCHANT, STORE, TERMINAL, Scope
from payments.methods.services import settings as services
from tests.payments.ops_support import access_of, actor_of

MERCHANT_SCOPE = Scope(MERCHANT)


def save(world, scope, method, membership=None, **values):
    membership = membership or world.m_alice
    return services.setting_save(
        access=access_of(membership), actor=actor_of(membership.user), scope=scope, method=method, values=values
    )


def entity(world, number="21234", membership=None):
    membership = membership or world.m_alice
    return services.entity_create(
        access=access_of(membership), actor=actor_of(membership.user), entity=number, description="Main"
    )


def effective(world, terminal, method, membership=None):
    config = selectors.configuration(access=access_of(membership or world.m_alice))
    return config.for_terminal(terminal, method)


def test_a_terminal_inherits_from_its_store_and_the_merchant(world):
    # given: MB WAY on for the whole merchant, off for the Porto store
    save(world, MERCHANT_SCOPE, "MBWAY", enabled=True)
    save(world, Scope(STORE, store_id=world.porto.pk), "MBWAY", enabled=False)
    # then: Lisboa's terminal inherits the merchant's on, Porto's the store's off
    lisboa = effective(world, world.t_lisboa, "MBWAY")["enabled"]
    porto = effective(world, world.t_porto, "MBWAY")["enabled"]
    assert (lisboa.value, lisboa.source) == (True, MERCHANT)
    assert (porto.value, porto.source) == (False, STORE)
    # when: the Porto terminal says on itself
    save(world, Scope(TERMINAL, terminal_id=world.t_porto.pk), "MBWAY", enabled=True)
    porto = effective(world, world.t_porto, "MBWAY")["enabled"]
    assert (porto.value, porto.source) == (True, TERMINAL)
    # and clearing it (None) inherits again
    save(world, Scope(TERMINAL, terminal_id=world.t_porto.pk), "MBWAY", enabled=None)
    assert effective(world, world.t_porto, "MBWAY")["enabled"].source == STORE


def test_settings_inherit_field_by_field(world):
    main = entity(world)
    save(world, MERCHANT_SCOPE, "REFERENCE", enabled=True, reference_entity=main, reference_validity_hours=72)
    save(world, Scope(STORE, store_id=world.lisboa.pk), "REFERENCE", reference_max_amount="500.00")
    values = effective(world, world.t_lisboa, "REFERENCE")
    assert values["reference_entity"].value == main and values["reference_entity"].source == MERCHANT
    assert values["reference_max_amount"].value == Decimal("500.00")
    assert values["reference_max_amount"].source == STORE
    assert values["reference_validity_hours"].value == 72
    assert values["reference_min_amount"].source == "default"


def test_no_setting_means_off(world):
    value = effective(world, world.t_lisboa, "XPAY")["enabled"]
    assert (value.value, value.source) == (False, "default")


def test_a_reference_cannot_be_enabled_without_an_entity(world):
    scope = Scope(TERMINAL, terminal_id=world.t_lisboa.pk)
    with pytest.raises(ValidationError) as refused:
        save(world, scope, "REFERENCE", enabled=True)
    assert "needs a payment entity" in str(refused.value)
    assert not MethodSetting.objects.exists()
    # nor at the merchant level, which every terminal would inherit
    with pytest.raises(ValidationError):
        save(world, MERCHANT_SCOPE, "REFERENCE", enabled=True)
    # with an entity above it, it can
    save(world, MERCHANT_SCOPE, "REFERENCE", reference_entity=entity(world))
    save(world, scope, "REFERENCE", enabled=True)
    assert effective(world, world.t_lisboa, "REFERENCE")["enabled"].value is True


def test_an_entity_in_use_cannot_be_disabled(world):
    main = entity(world)
    save(world, Scope(TERMINAL, terminal_id=world.t_lisboa.pk), "REFERENCE", enabled=True, reference_entity=main)
    with pytest.raises(ValidationError, match="still used"):
        services.entity_disable(access=access_of(world.m_alice), actor=actor_of(world.alice), entity=main)
    main.refresh_from_db()
    assert main.is_active
    save(world, Scope(TERMINAL, terminal_id=world.t_lisboa.pk), "REFERENCE", enabled=False)
    services.entity_disable(access=access_of(world.m_alice), actor=actor_of(world.alice), entity=main)
    main.refresh_from_db()
    assert not main.is_active
    # and a disabled entity cannot be chosen
    with pytest.raises(ValidationError, match="disabled"):
        save(world, MERCHANT_SCOPE, "REFERENCE", reference_entity=main)


def test_entities_are_five_digits_and_unique(world):
    for bad in ("1234", "123456", "12a45", "\uff11\uff12\uff13\uff14\uff15", ""):
        with pytest.raises(ValidationError):
            entity(world, bad)
    entity(world, "21234")
    with pytest.raises(ValidationError, match="already"):
        entity(world, "21234")


def test_changes_are_audited(world):
    save(world, MERCHANT_SCOPE, "MBWAY", enabled=True)
    event = AuditEvent.objects.get(action="payment_method.changed")
    assert event.actor == world.alice
    assert event.before == {"scope": "merchant", "method": "MBWAY"}
    assert event.after == {"scope": "merchant", "method": "MBWAY", "enabled": True}
    # saving the same again changes nothing and records nothing
    save(world, MERCHANT_SCOPE, "MBWAY", enabled=True)
    assert AuditEvent.objects.filter(action="payment_method.changed").count() == 1


@pytest.mark.parametrize(
    ("method", "values", "message"),
    [
        ("MBWAY", {"reference_entity": None}, "do not exist"),
        ("REFERENCE", {"reference_min_amount": "-1"}, "above 0.00"),
        ("REFERENCE", {"reference_min_amount": "NaN"}, "above 0.00"),
        ("REFERENCE", {"reference_max_amount": "1.001"}, "two decimals"),
        ("REFERENCE", {"reference_max_amount": "1e309"}, "above 0.00"),
        ("REFERENCE", {"reference_validity_hours": 0}, "Between"),
        ("REFERENCE", {"reference_validity_hours": True}, "whole number"),
        ("CARD", {"mit_recurring_terms_url": "http://shop.example/terms"}, "https"),
        ("CARD", {"mit_unscheduled_terms_url": "javascript:alert(1)"}, "https"),
        ("CARD", {"mit_unscheduled_terms_url": "https://u:p@shop.example/t"}, "user or password"),
        ("CARD", {"mit_unscheduled_terms_url": "https://shop.example/" + "a" * 300}, "At most"),
        ("MANDATE", {"mandate_company_name": "Loja\x00"}, "printable"),
        ("MANDATE", {"mandate_terms_url": 42}, "https"),
        ("CARD", {"enabled": "yes"}, "on, off"),
        ("NOPE", {"enabled": True}, "Unknown"),
    ],
)
def test_hostile_values_are_refused(world, method, values, message):
    with pytest.raises(ValidationError) as refused:
        save(world, MERCHANT_SCOPE, method, **values)
    assert message in str(refused.value)
    assert not MethodSetting.objects.exists()


def test_min_above_max_is_refused(world):
    main = entity(world)
    save(world, MERCHANT_SCOPE, "REFERENCE", enabled=True, reference_entity=main, reference_min_amount="10.00")
    with pytest.raises(ValidationError, match="minimum amount would be above"):
        save(world, Scope(STORE, store_id=world.porto.pk), "REFERENCE", reference_max_amount="5.00")


def test_another_merchants_entity_or_scope_is_refused(world):
    theirs = entity(world, "11111", membership=world.m_mallory)
    with pytest.raises(ValidationError):
        save(world, MERCHANT_SCOPE, "REFERENCE", reference_entity=theirs)
    with pytest.raises(ValidationError):
        save(world, Scope(TERMINAL, terminal_id=world.t_outra.pk), "MBWAY", enabled=True)


def test_a_store_limited_administrator_changes_only_their_stores(world):
    world.m_adam.stores.set([world.porto])
    adam = world.m_adam
    with pytest.raises(PermissionDenied):
        save(world, MERCHANT_SCOPE, "MBWAY", membership=adam, enabled=True)
    with pytest.raises(PermissionDenied):
        save(world, Scope(TERMINAL, terminal_id=world.t_lisboa.pk), "MBWAY", membership=adam, enabled=True)
    save(world, Scope(TERMINAL, terminal_id=world.t_porto.pk), "MBWAY", membership=adam, enabled=True)
    with pytest.raises(PermissionDenied):
        entity(world, "22222", membership=adam)


@pytest.mark.parametrize("role", ["operator", "finance", "viewer", "qr_manager"])
def test_other_roles_change_nothing(world, role):
    membership = {m.user: m for m in (world.m_bob, world.m_fiona, world.m_victor, world.m_quinn)}[world.by_role(role)]
    with pytest.raises(PermissionDenied):
        save(world, MERCHANT_SCOPE, "MBWAY", membership=membership, enabled=True)


def test_the_demo_offers_methods_at_the_merchant_level(world):
    from payments.methods.demo import payment_methods_demo

    payment_methods_demo(world.loja)
    payment_methods_demo(world.loja)  # a second run changes nothing
    values = effective(world, world.t_porto, "REFERENCE")
    assert values["enabled"].value is True and values["enabled"].source == MERCHANT
    assert values["reference_entity"].value.entity == "21234"
    assert MethodSetting.objects.count() == 3
