from django.urls import path

from payments.requests import views

app_name = "payment_requests"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("waiting/", views.waiting, name="waiting"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/panel/", views.panel, name="panel"),
    path("<int:pk>/refresh/", views.refresh, name="refresh"),
    path("<int:pk>/remind/", views.remind, name="remind"),
    path("<int:pk>/slip/", views.slip, name="slip"),
]
