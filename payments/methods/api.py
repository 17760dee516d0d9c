"""API: what an e-shop should offer at checkout for one terminal.

``GET /api/v1/terminals/{terminalId}/payment-methods`` (the SIBS terminal id): the methods enabled
on that terminal after inheritance (merchant → store → terminal), each with its settings
(MULTIBANCO entity, validity and amount limits; card tokenisation and MIT terms; authorised
payments' company name and terms), and the latest Check with SIBS. A merchant's systems read this
instead of hard-coding their checkout. Scoped like everything else: another merchant's terminal,
or a store outside the key's stores, is a 404.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.roles import Capability
from common.money import money_text
from payments.methods import selectors
from payments.methods.catalogue import Method


class ReferenceSettingsSerializer(serializers.Serializer):
    entity = serializers.CharField(allow_null=True, help_text="MULTIBANCO payment entity (5 digits)")
    validity_hours = serializers.IntegerField(help_text="Default validity of a reference, in hours")
    min_amount = serializers.CharField(allow_null=True, help_text="EUR, two decimals: 5.00")
    max_amount = serializers.CharField(allow_null=True, help_text="EUR, two decimals: 500.00")

    class Meta:
        ref_name = "ReferenceMethodSettings"


class CardSettingsSerializer(serializers.Serializer):
    tokenisation = serializers.BooleanField(help_text="Offer the customer to keep the card (a card token)")
    recurring_terms_url = serializers.CharField(allow_blank=True, help_text="MIT terms, recurring payments")
    unscheduled_terms_url = serializers.CharField(allow_blank=True, help_text="MIT terms, unscheduled card-on-file")

    class Meta:
        ref_name = "CardMethodSettings"


class MandateSettingsSerializer(serializers.Serializer):
    company_name = serializers.CharField(allow_blank=True)
    terms_url = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "MandateMethodSettings"


class MethodOfferSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=Method.choices, help_text="SIBS paymentMethod code")
    label = serializers.CharField()
    reference = ReferenceSettingsSerializer(allow_null=True, required=False)
    card = CardSettingsSerializer(allow_null=True, required=False)
    mandate = MandateSettingsSerializer(allow_null=True, required=False)

    class Meta:
        ref_name = "PaymentMethodOffer"


class LastCheckSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField()
    outcome = serializers.CharField(help_text="agrees, differs or failed")
    active_at_sibs = serializers.ListField(child=serializers.CharField(), allow_null=True)
    detail = serializers.CharField()

    class Meta:
        ref_name = "PaymentMethodsCheck"


class TerminalPaymentMethodsSerializer(serializers.Serializer):
    terminal_id = serializers.IntegerField(help_text="SIBS terminal id")
    store = serializers.CharField(help_text="The store's code")
    methods = MethodOfferSerializer(many=True)
    last_check = LastCheckSerializer(allow_null=True, help_text="The latest Check with SIBS of this terminal")

    class Meta:
        ref_name = "TerminalPaymentMethods"


def _offer(item: dict) -> dict:
    s = item["settings"]
    out = {"method": item["method"], "label": item["label"], "reference": None, "card": None, "mandate": None}
    if item["method"] == Method.REFERENCE:
        entity = s["reference_entity"]
        out["reference"] = {
            "entity": entity.entity if entity is not None else None,
            "validity_hours": s["reference_validity_hours"],
            "min_amount": money_text(s["reference_min_amount"], "EUR"),
            "max_amount": money_text(s["reference_max_amount"], "EUR"),
        }
    elif item["method"] == Method.CARD:
        out["card"] = {
            "tokenisation": bool(s["card_tokenisation"]),
            "recurring_terms_url": s["mit_recurring_terms_url"],
            "unscheduled_terms_url": s["mit_unscheduled_terms_url"],
        }
    elif item["method"] == Method.MANDATE:
        out["mandate"] = {"company_name": s["mandate_company_name"], "terms_url": s["mandate_terms_url"]}
    return out


class TerminalPaymentMethodsApi(APIView):
    @extend_schema(
        operation_id="terminal_payment_methods",
        summary="What a terminal's checkout should offer",
        description=(
            "The payment methods enabled on the terminal (after merchant → store → terminal inheritance), "
            "with their settings, and the latest Check with SIBS."
        ),
        parameters=[OpenApiParameter("terminal_id", int, OpenApiParameter.PATH, description="SIBS terminal id")],
        responses={200: TerminalPaymentMethodsSerializer},
        tags=["payment methods"],
    )
    def get(self, request, terminal_id: int):
        access = api_access(request)
        access.require(Capability.VIEW_TRANSACTIONS)
        if not 0 < terminal_id < 10**10:  # SIBS terminal ids have at most 10 digits
            raise Http404
        try:
            terminal = selectors.terminal_by_number(access=access, terminal_id=terminal_id)
        except ObjectDoesNotExist:
            raise Http404 from None
        check = selectors.latest_checks(access=access, terminals=[terminal]).get(terminal.pk)
        body = {
            "terminal_id": terminal.terminal_id,
            "store": terminal.store.code,
            "methods": [_offer(item) for item in selectors.terminal_offer(access=access, terminal=terminal)],
            "last_check": None
            if check is None
            else {
                "checked_at": check.checked_at,
                "outcome": check.outcome,
                "active_at_sibs": check.active_at_sibs,
                "detail": check.detail,
            },
        }
        return Response(TerminalPaymentMethodsSerializer(body).data)
