from django.urls import path

from backoffice.page_sections import section_placeholder

app_name = "qrexpress"

urlpatterns = [
    path("", section_placeholder("qrexpress"), name="index"),
]
