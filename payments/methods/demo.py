"""seed_demo: the demo merchant offers MB WAY, cards and MULTIBANCO references (with a payment
entity) on every terminal, set once at the merchant level so the matrix shows inheritance."""

from __future__ import annotations

from backoffice.audit import SYSTEM
from backoffice.demo import register
from payments.methods.models import MethodSetting, PaymentEntity
from payments.methods.resolution import MERCHANT, Scope
from payments.methods.services.settings import setting_apply

DEMO_ENTITY = "21234"


@register
def payment_methods_demo(merchant) -> dict:
    if MethodSetting.objects.filter(merchant=merchant).exists():
        return {}
    entity, _created = PaymentEntity.objects.get_or_create(
        merchant=merchant, entity=DEMO_ENTITY, defaults={"description": "Demo"}
    )
    for method, values in (
        ("MBWAY", {"enabled": True}),
        ("CARD", {"enabled": True, "card_tokenisation": True}),
        ("REFERENCE", {"enabled": True, "reference_entity": entity, "reference_validity_hours": 72}),
    ):
        setting_apply(merchant=merchant, actor=SYSTEM, scope=Scope(MERCHANT), method=method, values=values)
    return {}
