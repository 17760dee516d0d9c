from django.urls import path

from webhooks.inbound import views
from webhooks.outbound import views as views_outbound

app_name = "webhooks"

urlpatterns = [
    # The outbound relay: webhooks, their keys and tests, deliveries, recovery.
    path("", views_outbound.index, name="index"),
    path("new/", views_outbound.create, name="create"),
    path("which-applies/", views_outbound.resolution, name="resolution"),
    path("recover/", views_outbound.recover, name="recover_all"),
    path("deliveries/", views_outbound.deliveries, name="deliveries_all"),
    path("deliveries/<int:pk>/", views_outbound.delivery_detail, name="delivery"),
    path("deliveries/<int:pk>/resend/", views_outbound.delivery_resend, name="delivery_resend"),
    path("<int:pk>/", views_outbound.detail, name="detail"),
    path("<int:pk>/edit/", views_outbound.edit, name="edit"),
    path("<int:pk>/active/", views_outbound.toggle, name="toggle"),
    path("<int:pk>/key/", views_outbound.reveal_key, name="key"),
    path("<int:pk>/key/rotate/", views_outbound.rotate_key, name="rotate_key"),
    path("<int:pk>/test/", views_outbound.send_test, name="test"),
    path("<int:pk>/deliveries/", views_outbound.deliveries, name="deliveries"),
    path("<int:pk>/recover/", views_outbound.recover, name="recover"),
    # Inbound SIBS notifications: secrets, acknowledgement setting, the rejected log.
    path("inbound/", views.inbound_tab, name="inbound"),
    path("inbound/secrets/generate/", views.secret_generate, name="secret_generate"),
    path("inbound/secrets/enter/", views.secret_enter, name="secret_enter"),
    path("inbound/secrets/<int:pk>/revoke/", views.secret_revoke, name="secret_revoke"),
    path("inbound/settings/", views.inbound_settings, name="inbound_settings"),
    path("inbound/rejected/", views.rejected_log, name="rejected"),
]
