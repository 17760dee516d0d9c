"""API of the export engine.

``POST /api/v1/extracts`` takes the dataset, its filters (the same parameters as its list:
for transactions, those of ``GET /api/v1/transactions``), the columns, the zone and the
format, validates them all, and answers ``202`` with the extract's id and state: the file is
written in the background. ``GET /api/v1/extracts/{id}`` shows state and progress;
``GET /api/v1/extracts/{id}/file`` downloads the file once it is ready (``409`` before,
``410`` once expired). Errors are in the API's one error format.
"""

from __future__ import annotations

from django.http import FileResponse, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.audit import Actor, actor_from_request, client_ip
from backoffice.models import ApiKey
from extracts import selectors, services
from extracts.models import Extract, ExtractFormat, ExtractState

MAX_FILTER_VALUES = 200


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_ready"
    default_detail = "The file is not ready yet."


class Gone(APIException):
    status_code = status.HTTP_410_GONE
    default_code = "expired"
    default_detail = "The file is no longer available."


class ExtractInputSerializer(serializers.Serializer):
    dataset = serializers.CharField(default="transactions", max_length=40)
    format = serializers.ChoiceField(choices=ExtractFormat.values)
    zone = serializers.CharField(default="Europe/Lisbon", max_length=64, help_text="IANA time zone")
    columns = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, max_length=100, help_text="Column keys, in order"
    )
    preset = serializers.CharField(required=False, max_length=40, help_text="operations, finance or everything")
    filters = serializers.DictField(
        required=False,
        help_text='The list\'s query parameters, e.g. {"period": "7d", "status": ["paid"]}',
    )

    class Meta:
        ref_name = "ExtractRequest"


class ExtractSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    dataset = serializers.CharField()
    state = serializers.ChoiceField(choices=ExtractState.values)
    format = serializers.CharField()
    zone = serializers.CharField(source="time_zone")
    columns = serializers.ListField(child=serializers.CharField())
    filters = serializers.CharField(source="query")
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField()
    rows_estimated = serializers.IntegerField(allow_null=True)
    rows_written = serializers.IntegerField()
    percent = serializers.IntegerField()
    file_name = serializers.CharField(source="download_name")
    file_size = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Extract"


def _params(data: dict) -> QueryDict:
    params = QueryDict(mutable=True)
    for key in ("dataset", "format", "zone", "preset"):
        if data.get(key):
            params[key] = data[key]
    if data.get("columns"):
        params.setlist("columns", data["columns"])
    errors = {}
    for key, value in (data.get("filters") or {}).items():
        if key in services.ENGINE_PARAMS or not isinstance(key, str):
            errors[f"filters.{key}"] = ["Not a filter."]
            continue
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_FILTER_VALUES or any(not isinstance(v, str | int) or isinstance(v, bool) for v in values):
            errors[f"filters.{key}"] = ["A filter is a string, a number, or a list of them."]
            continue
        params.setlist(key, [str(v) for v in values])
    if errors:
        raise ValidationError(errors)
    return params


def _actor(request) -> Actor:
    """The key, or the signed-in person, behind an API call."""
    if isinstance(request.auth, ApiKey):
        return Actor(
            api_key=request.auth,
            ip_address=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
    return actor_from_request(request._request)


class ExtractListApi(APIView):
    @extend_schema(
        operation_id="extracts_create",
        summary="Start an extract of a filtered view (answers at once; the file is written in the background)",
        request=ExtractInputSerializer,
        responses={202: ExtractSerializer},
    )
    def post(self, request):
        access = api_access(request)
        incoming = ExtractInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        extract = services.extract_request(
            access=access, actor=_actor(request), params=_params(incoming.validated_data)
        )
        return Response(ExtractSerializer(extract).data, status=status.HTTP_202_ACCEPTED)


class ExtractDetailApi(APIView):
    @extend_schema(
        operation_id="extracts_retrieve", summary="An extract: state and progress", responses=ExtractSerializer
    )
    def get(self, request, pk: int):
        extract = selectors.extract_get(access=api_access(request), pk=pk)
        return Response(ExtractSerializer(extract).data)


class ExtractFileApi(APIView):
    @extend_schema(
        operation_id="extracts_file",
        summary="The extract's file",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            409: OpenApiResponse(description="Not ready yet"),
            410: OpenApiResponse(description="Expired (deleted), failed or cancelled"),
        },
    )
    def get(self, request, pk: int):
        access = api_access(request)
        extract: Extract = selectors.extract_get(access=access, pk=pk)
        if not extract.is_finished:
            raise Conflict()
        try:
            handle = services.extract_open(access=access, actor=_actor(request), extract=extract)
        except FileNotFoundError:
            raise Gone() from None
        return FileResponse(handle, as_attachment=True, filename=extract.download_name)
