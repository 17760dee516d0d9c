from django.urls import path

from backoffice.views import section_placeholder

app_name = "webhooks"

urlpatterns = [
    path("", section_placeholder("webhooks"), name="index"),
]
