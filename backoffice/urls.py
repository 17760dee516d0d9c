from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from backoffice import views

# Platform staff sign in through the same login page, with the same lockout and second factor.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "SIBS Backoffice — platform administration"

merchant_patterns = [
    path("", views.merchant_home, name="merchant_home"),
    path("", include("backoffice.merchant_urls")),
    path("", include("payments.urls")),
    path("payment-requests/", include("payments.requests.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("qr-express/", include("qrexpress.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("extracts/", include("extracts.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("activate/", views.activate, name="activate"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("backoffice.api.urls")),
    path("sandbox/", include("sandbox.urls")),
    # Where SIBS (or the sandbox) posts encrypted notifications; outside any session or CSRF.
    path("hooks/", include("webhooks.inbound.urls")),
    path("m/<slug:merchant>/", include(merchant_patterns)),
]


handler403 = "backoffice.errors.forbidden"
handler404 = "backoffice.errors.not_found"
handler500 = "backoffice.errors.server_error"
