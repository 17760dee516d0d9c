from django.urls import path

from backoffice.views import section_placeholder
from payments import views

app_name = "payments"

urlpatterns = [
    path("transactions/", section_placeholder("transactions"), name="transactions"),
    path("dashboards/", section_placeholder("dashboards"), name="dashboards"),
    path("extracts/", section_placeholder("extracts"), name="extracts"),
    path("payment-methods/", views.payment_methods, name="methods"),
    path("payment-methods/credentials/", views.credential_add, name="credential_add"),
    path("payment-methods/credentials/<int:pk>/deactivate/", views.credential_deactivate, name="credential_deactivate"),
]
