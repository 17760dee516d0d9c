from django.urls import path  # noqa: F401

app_name = "inbound"

# The inbound notification endpoint per merchant mounts here (/hooks/...).
urlpatterns: list = []
