from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backoffice.api import views
from extracts import api as extracts_api
from payments.api import operations as api_operations
from payments.api import transactions as payments_api
from payments.dashboards import api as metrics_api
from payments.methods import api as payment_methods_api
from payments.requests import api as payment_requests_api
from reconciliation import api as reconciliation_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP to allow.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("me", views.MeApi.as_view(), name="api-me"),
    path("stores", views.StoreListApi.as_view(), name="api-stores"),
    path("metrics/summary", metrics_api.MetricsSummaryApi.as_view(), name="api-metrics-summary"),
    path("metrics/timeseries", metrics_api.MetricsTimeseriesApi.as_view(), name="api-metrics-timeseries"),
    path("transactions", payments_api.TransactionListApi.as_view(), name="api-transactions"),
    path("transactions/<str:transaction_id>", payments_api.TransactionDetailApi.as_view(), name="api-transaction"),
    path("transactions/<str:transaction_id>/refunds", api_operations.RefundsApi.as_view(), name="api-refunds"),
    path("transactions/<str:transaction_id>/captures", api_operations.CapturesApi.as_view(), name="api-captures"),
    path(
        "transactions/<str:transaction_id>/cancellations",
        api_operations.CancellationsApi.as_view(),
        name="api-cancellations",
    ),
    path(
        "terminals/<int:terminal_id>/payment-methods",
        payment_methods_api.TerminalPaymentMethodsApi.as_view(),
        name="api-terminal-payment-methods",
    ),
    path("payment-requests", payment_requests_api.PaymentRequestsApi.as_view(), name="api-payment-requests"),
    path("payment-requests/<int:pk>", payment_requests_api.PaymentRequestApi.as_view(), name="api-payment-request"),
    path("operations/<int:pk>", api_operations.OperationApi.as_view(), name="api-operation"),
    path("operations/<int:pk>/approve", api_operations.OperationApproveApi.as_view(), name="api-operation-approve"),
    path("extracts", extracts_api.ExtractListApi.as_view(), name="api-extracts"),
    path("extracts/<int:pk>", extracts_api.ExtractDetailApi.as_view(), name="api-extract"),
    path("extracts/<int:pk>/file", extracts_api.ExtractFileApi.as_view(), name="api-extract-file"),
    path("operations/<int:pk>/reject", api_operations.OperationRejectApi.as_view(), name="api-operation-reject"),
    path("qr-express/", include("qrexpress.api.urls")),
    path("settlements", reconciliation_api.SettlementsApi.as_view(), name="api-settlements"),
]
