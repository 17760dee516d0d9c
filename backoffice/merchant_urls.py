from django.urls import path

from backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/remove/", views.user_remove, name="user_remove"),
    path("users/<int:pk>/resend-code/", views.user_resend_code, name="user_resend_code"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("audit/", views.audit_log, name="audit"),
]
