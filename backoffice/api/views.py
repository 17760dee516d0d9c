"""API views of the core: who am I, stores and terminals."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice import selectors
from backoffice.api.auth import api_access
from backoffice.roles import MATRIX


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        merchant = serializers.DictField()
        role = serializers.CharField()
        capabilities = serializers.ListField(child=serializers.CharField())
        store_ids = serializers.ListField(child=serializers.IntegerField())
        principal = serializers.CharField()

        class Meta:
            ref_name = "Me"

    @extend_schema(responses=OutputSerializer, summary="Who is calling, for which merchant, with what rights")
    def get(self, request):
        access = api_access(request)
        return Response(
            {
                "merchant": {
                    "slug": access.merchant.slug,
                    "name": access.merchant.name,
                    "nif": access.merchant.nif,
                },
                "role": access.role.value,
                "capabilities": sorted(c.value for c in MATRIX[access.role]),
                "store_ids": sorted(access.store_ids),
                "principal": access.user.email if access.user else f"api-key:{access.api_key.prefix}",
            }
        )


class StoreListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        code = serializers.CharField()
        name = serializers.CharField()
        terminals = serializers.SerializerMethodField()

        class Meta:
            ref_name = "Store"

        def get_terminals(self, store) -> list[dict]:
            return [{"terminal_id": t.terminal_id, "name": t.name} for t in store.terminals.all()]

    @extend_schema(responses=OutputSerializer(many=True), summary="Stores and terminals visible to the caller")
    def get(self, request):
        stores = selectors.store_list(access=api_access(request))
        return Response(self.OutputSerializer(stores, many=True).data)
