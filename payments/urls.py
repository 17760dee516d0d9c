from django.urls import include, path

from payments.approvals import views as views_approvals
from payments.views import detail as views_detail
from payments.views import list as views_list
from payments.views import methods as views
from payments.views import operations as views_operations

app_name = "payments"

urlpatterns = [
    path("transactions/", views_list.transactions, name="transactions"),
    path("transactions-counts/", views_list.transactions_counts, name="transactions_counts"),
    path("transactions-live/", views_list.transactions_live, name="transactions_live"),
    path("saved-views/", views_list.saved_view_create, name="saved_view_create"),
    path("saved-views/<int:pk>/rename/", views_list.saved_view_rename, name="saved_view_rename"),
    path("saved-views/<int:pk>/delete/", views_list.saved_view_delete, name="saved_view_delete"),
    path("transactions/<str:transaction_id>/", views_detail.transaction_detail, name="transaction"),
    path("transactions/<str:transaction_id>/live/", views_detail.transaction_live, name="transaction_live"),
    path("transactions/<str:transaction_id>/refund/", views_operations.refund, name="transaction_refund"),
    path("transactions/<str:transaction_id>/capture/", views_operations.capture, name="transaction_capture"),
    path("transactions/<str:transaction_id>/cancel/", views_operations.cancel, name="transaction_cancel"),
    path("operations/<int:pk>/approve/", views_operations.operation_approve, name="operation_approve"),
    path("operations/<int:pk>/reject/", views_operations.operation_reject, name="operation_reject"),
    path("operations/<int:pk>/inquire/", views_operations.operation_inquire, name="operation_inquire"),
    path("awaiting-approval/", views_approvals.awaiting_approval, name="approvals"),
    path("payment-methods/approvals/", views_operations.operations_policy, name="operations_policy"),
    path("", include("payments.dashboards.urls")),
    path("payment-methods/", include("payments.methods.urls")),
    path("payment-methods/credentials/", views.credentials, name="credentials"),
    path("payment-methods/credentials/", views.credentials, name="credential_add"),
    path("payment-methods/credentials/<int:pk>/deactivate/", views.credential_deactivate, name="credential_deactivate"),
]
