from django.urls import path

from reconciliation import views

app_name = "reconciliation"

urlpatterns = [
    # The section's home is the payouts page.
    path("", views.payouts, name="index"),
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/detail/", views.payout_detail, name="payout"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("exceptions/resolve/", views.exceptions_bulk_resolve, name="bulk_resolve"),
    path("exceptions/<int:pk>/", views.exception_detail, name="exception"),
    path("files/", views.upload, name="upload"),
    path("settings/", views.settings_page, name="settings"),
]
