from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backoffice.api import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("me", views.MeApi.as_view(), name="api-me"),
    path("stores", views.StoreListApi.as_view(), name="api-stores"),
]
