from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice.api import views
from payments import api as payments_api
from payments import api_operations
from reconciliation import api as reconciliation_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("me", views.MeApi.as_view(), name="api-me"),
    path("stores", views.StoreListApi.as_view(), name="api-stores"),
    path("transactions", payments_api.TransactionListApi.as_view(), name="api-transactions"),
    path("transactions/<str:transaction_id>", payments_api.TransactionDetailApi.as_view(), name="api-transaction"),
    path("transactions/<str:transaction_id>/refunds", api_operations.RefundsApi.as_view(), name="api-refunds"),
    path("transactions/<str:transaction_id>/captures", api_operations.CapturesApi.as_view(), name="api-captures"),
    path(
        "transactions/<str:transaction_id>/cancellations",
        api_operations.CancellationsApi.as_view(),
        name="api-cancellations",
    ),
    path("operations/<int:pk>", api_operations.OperationApi.as_view(), name="api-operation"),
    path("operations/<int:pk>/approve", api_operations.OperationApproveApi.as_view(), name="api-operation-approve"),
    path("operations/<int:pk>/reject", api_operations.OperationRejectApi.as_view(), name="api-operation-reject"),
    path("settlements", reconciliation_api.SettlementsApi.as_view(), name="api-settlements"),
]
