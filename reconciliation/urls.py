from django.urls import path

from backoffice.page_sections import section_placeholder

app_name = "reconciliation"

urlpatterns = [
    path("", section_placeholder("reconciliation"), name="index"),
]
