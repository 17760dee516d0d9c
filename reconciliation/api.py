"""API of reconciliation: send a settlement file, list what was imported."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api.auth import api_access
from backoffice.api.errors import error_body
from backoffice.audit import Actor, actor_from_request, client_ip
from backoffice.models import ApiKey
from backoffice.roles import Capability
from reconciliation import selectors
from reconciliation.models import FileSource, ImportOutcome
from reconciliation.services.importing import MAX_FILE_BYTES, settlement_file_import


class SettlementFileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sha256 = serializers.CharField()
    source = serializers.CharField()
    layout = serializers.CharField()
    generated_at = serializers.DateTimeField(allow_null=True)
    imported_at = serializers.DateTimeField()
    line_count = serializers.IntegerField()
    gross_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    fee_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    net_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    exception_count = serializers.IntegerField()
    duplicate_count = serializers.IntegerField()
    superseding_count = serializers.IntegerField()

    class Meta:
        ref_name = "SettlementFile"


def _actor(request) -> Actor:
    """The key, or the signed-in person, behind an API call."""
    if isinstance(request.auth, ApiKey):
        return Actor(
            api_key=request.auth,
            ip_address=client_ip(request._request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
    return actor_from_request(request._request)


class SettlementsApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses=SettlementFileOutput(many=True), summary="Settlement files imported, newest first")
    def get(self, request):
        access = api_access(request)
        access.require(Capability.RECONCILE)
        return Response(SettlementFileOutput(selectors.file_list(access=access), many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "SettlementUpload", fields={"file": serializers.FileField(help_text="The settlement file")}
            )
        },
        responses={201: SettlementFileOutput, 200: SettlementFileOutput},
        examples=[
            OpenApiExample("refused", value=error_body(type_="validation_error", code="file_refused", message="…"))
        ],
        summary="Import a settlement file (201 imported, 200 already imported, 422 refused with line numbers)",
    )
    def post(self, request):
        access = api_access(request)
        access.require(Capability.RECONCILE)
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": ["Send the settlement file as the multipart field “file”."]})
        if upload.size > MAX_FILE_BYTES:
            raise exceptions.ValidationError({"file": ["The file is larger than 1 GB."]})
        result = settlement_file_import(
            merchant=access.merchant, name=upload.name, stream=upload.file, source=FileSource.API, actor=_actor(request)
        )
        if result.outcome == ImportOutcome.REFUSED:
            body = error_body(
                type_="validation_error",
                code="file_refused",
                message=f"The file was refused ({result.error_count} problems); nothing was imported.",
            )
            body["error"]["lines"] = [e.as_dict() for e in result.errors]
            return Response(body, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        code = status.HTTP_201_CREATED if result.outcome == ImportOutcome.IMPORTED else status.HTTP_200_OK
        return Response(SettlementFileOutput(result.file).data, status=code)
