"""Under ``payment-methods/`` in the ``payments`` namespace (``payments/urls.py`` includes them)."""

from django.urls import path

from payments.methods import views

urlpatterns = [
    path("", views.matrix, name="methods"),
    path("settings/<str:scope>/<str:method>/", views.setting_edit, name="method_setting"),
    path("terminals/<int:pk>/check/", views.terminal_check, name="method_check"),
    path("entities/", views.entities, name="method_entities"),
    path("entities/<int:pk>/disable/", views.entity_disable, name="method_entity_disable"),
    path("authorised-payments/", views.mandates, name="method_mandates"),
    path("authorised-payments/<str:mandate_id>/", views.mandate_detail, name="method_mandate"),
    path("tokens/", views.tokens, name="method_tokens"),
    path("tokens/transactions/", views.token_detail, name="method_token"),
    path("requests/new/", views.request_new, name="method_request_new"),
]
