"""API: the numbers the dashboards draw.

``GET /api/v1/metrics/summary`` and ``GET /api/v1/metrics/timeseries`` take the history page's
parameters (``period``, ``from``/``to``, ``grain``, ``compare``, ``store``, ``terminal``,
``method``, ``currency``), scoped to the key's merchant and stores. An invalid parameter is a
400 naming it. Amounts are strings with the currency's decimals; rates are fractions (0.9731).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.roles import Capability
from common.money import money_text
from payments.dashboards import selectors
from payments.dashboards.models import Outcome
from payments.dashboards.periods import Comparison, Preset, Query, parse_query
from payments.dashboards.selectors import Totals
from payments.dashboards.services import LISBON

PARAMETERS = [
    OpenApiParameter("period", OpenApiTypes.STR, enum=[p.value for p in Preset], description="Default 30d."),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First Lisbon day (with `to`: a custom period)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last Lisbon day, included."),
    OpenApiParameter(
        "grain", OpenApiTypes.STR, enum=["hour", "day", "week", "month"], description="Follows the period by default."
    ),
    OpenApiParameter("compare", OpenApiTypes.STR, enum=[c.value for c in Comparison], description="Default previous."),
    OpenApiParameter("store", OpenApiTypes.INT, many=True, description="Store id (repeatable)."),
    OpenApiParameter("terminal", OpenApiTypes.INT, many=True, description="SIBS terminal id (repeatable)."),
    OpenApiParameter("method", OpenApiTypes.STR, many=True, description="Payment method (repeatable)."),
    OpenApiParameter("currency", OpenApiTypes.STR, description="Three letters; default EUR."),
]


class MetricsSerializer(serializers.Serializer):
    gross_volume = serializers.CharField(help_text="Successful payments' amount.")
    successful = serializers.IntegerField()
    declined = serializers.IntegerField()
    technical_errors = serializers.IntegerField()
    never_answered = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True, help_text="successful / (successful + declined)")
    average_ticket = serializers.CharField(allow_null=True)
    refunds = serializers.CharField()
    refund_count = serializers.IntegerField()
    captures = serializers.CharField()
    capture_count = serializers.IntegerField()
    net_volume = serializers.CharField(help_text="gross_volume - refunds")


class MethodMetricsSerializer(serializers.Serializer):
    gross_volume = serializers.CharField()
    successful = serializers.IntegerField()


class PeriodSerializer(serializers.Serializer):
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    grain = serializers.CharField()


class ReferencesSerializer(serializers.Serializer):
    issued = serializers.IntegerField()
    paid = serializers.IntegerField()
    awaiting = serializers.IntegerField()
    expired = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)


class DeclineSerializer(serializers.Serializer):
    return_code = serializers.CharField()
    outcome = serializers.CharField()
    count = serializers.IntegerField()
    amount = serializers.CharField()


class SummarySerializer(serializers.Serializer):
    currency = serializers.CharField()
    time_zone = serializers.CharField()
    period = PeriodSerializer()
    comparison = PeriodSerializer(allow_null=True)
    metrics = MetricsSerializer()
    comparison_metrics = MetricsSerializer(allow_null=True)
    references = ReferencesSerializer()
    declines = DeclineSerializer(many=True)


class PointSerializer(serializers.Serializer):
    bucket = serializers.DateTimeField(help_text="Start of the bucket, Lisbon time.")
    metrics = MetricsSerializer()
    by_method = serializers.DictField(child=MethodMetricsSerializer())
    comparison_bucket = serializers.DateTimeField(allow_null=True)
    comparison_metrics = MetricsSerializer(allow_null=True)


class TimeseriesSerializer(serializers.Serializer):
    currency = serializers.CharField()
    time_zone = serializers.CharField()
    period = PeriodSerializer()
    comparison = PeriodSerializer(allow_null=True)
    points = PointSerializer(many=True)


def metrics(t: Totals, currency: str, method: str | None = None) -> dict:
    def money(v):
        return money_text(v, currency)

    if method is not None:
        return {
            "gross_volume": money(t.gross(method)),
            "successful": t.successes(method),
        }
    refunds, refund_count = t.refunds()
    captures, capture_count = t.captures()
    ticket = t.average_ticket()
    return {
        "gross_volume": money(t.gross()),
        "successful": t.successes(),
        "declined": t.declines(),
        "technical_errors": t.errors(),
        "never_answered": t.unanswered(),
        "success_rate": None if t.success_rate() is None else round(t.success_rate(), 6),
        "average_ticket": None if ticket is None else money(ticket),
        "refunds": money(refunds),
        "refund_count": refund_count,
        "captures": money(captures),
        "capture_count": capture_count,
        "net_volume": money(t.net()),
    }


def _period(window) -> dict | None:
    if window is None:
        return None
    return {"first_day": window.first_day, "last_day": window.last_day, "grain": window.grain}


def _query(request) -> tuple[object, Query]:
    access = api_access(request)
    access.require(Capability.VIEW_DASHBOARDS)
    query, errors, _form = parse_query(request.query_params, access=access)
    if errors:
        raise ValidationError(errors)
    selectors.refresh(access)
    return access, query


class MetricsSummaryApi(APIView):
    @extend_schema(
        operation_id="metrics_summary",
        summary="Totals of a period and its comparison: volumes, success rate, refunds, references, declines",
        parameters=PARAMETERS,
        responses={200: SummarySerializer},
    )
    def get(self, request):
        access, query = _query(request)
        h = selectors.history(access, query)
        refs = h.references
        issued = refs.get("issued", 0)
        return Response(
            {
                "currency": query.currency,
                "time_zone": str(LISBON),
                "period": _period(query.window),
                "comparison": _period(query.compare_window),
                "metrics": metrics(h.total, query.currency),
                "comparison_metrics": metrics(h.compare_total, query.currency) if query.compare_window else None,
                "references": {
                    "issued": issued,
                    "paid": refs.get(Outcome.SUCCESS, 0),
                    "awaiting": refs.get(Outcome.AWAITING, 0),
                    "expired": refs.get(Outcome.EXPIRED, 0),
                    "cancelled": refs.get(Outcome.CANCELLED, 0),
                    "conversion_rate": round(refs.get(Outcome.SUCCESS, 0) / issued, 6) if issued else None,
                },
                "declines": [
                    {
                        "return_code": r["return_code"],
                        "outcome": r["outcome"],
                        "count": r["n"],
                        "amount": money_text(r["total"], query.currency),
                    }
                    for r in h.declines
                ],
            }
        )


class MetricsTimeseriesApi(APIView):
    @extend_schema(
        operation_id="metrics_timeseries",
        summary="The same metrics bucket by bucket (Lisbon hours, days, weeks or months), with the comparison",
        parameters=PARAMETERS,
        responses={200: TimeseriesSerializer},
    )
    def get(self, request):
        access, query = _query(request)
        h = selectors.history(access, query)
        points = []
        for i, bucket in enumerate(h.buckets):
            t = h.series.get(bucket) or Totals()
            other = h.compare_buckets[i] if i < len(h.compare_buckets) else None
            points.append(
                {
                    "bucket": bucket.astimezone(LISBON).isoformat(),
                    "metrics": metrics(t, query.currency),
                    "by_method": {m: metrics(t, query.currency, m) for m in h.methods},
                    "comparison_bucket": other.astimezone(LISBON).isoformat() if other else None,
                    "comparison_metrics": metrics(h.compare_series.get(other) or Totals(), query.currency)
                    if other
                    else None,
                }
            )
        return Response(
            {
                "currency": query.currency,
                "time_zone": str(LISBON),
                "period": _period(query.window),
                "comparison": _period(query.compare_window),
                "points": points,
            }
        )
