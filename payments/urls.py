from django.urls import path

from backoffice.views import section_placeholder

app_name = "payments"

urlpatterns = [
    path("transactions/", section_placeholder("transactions"), name="transactions"),
    path("dashboards/", section_placeholder("dashboards"), name="dashboards"),
    path("extracts/", section_placeholder("extracts"), name="extracts"),
    path("payment-methods/", section_placeholder("payment_methods"), name="methods"),
]
