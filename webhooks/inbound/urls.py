from django.urls import path, re_path

from webhooks.inbound.endpoint import not_found, sibs_inbound

app_name = "inbound"

# The inbound notification endpoint per merchant (/hooks/sibs/<token>/). The form without the
# trailing slash is accepted too: a POST cannot follow the redirect APPEND_SLASH would answer.
# Anything else under /hooks/ is a JSON 404, like the rest of what machines call.
urlpatterns = [
    path("sibs/<str:token>/", sibs_inbound, name="sibs"),
    path("sibs/<str:token>", sibs_inbound, name="sibs_no_slash"),
    re_path(r"^", not_found),
]
