from django.urls import path

from backoffice.views import section_placeholder
from webhooks import views

app_name = "webhooks"

urlpatterns = [
    # The outbound relay's section (a later issue).
    path("", section_placeholder("webhooks"), name="index"),
    # Inbound SIBS notifications: secrets, acknowledgement setting, the rejected log.
    path("inbound/secrets/generate/", views.secret_generate, name="secret_generate"),
    path("inbound/secrets/enter/", views.secret_enter, name="secret_enter"),
    path("inbound/secrets/<int:pk>/revoke/", views.secret_revoke, name="secret_revoke"),
    path("inbound/settings/", views.inbound_settings, name="inbound_settings"),
    path("inbound/rejected/", views.rejected_log, name="rejected"),
]
