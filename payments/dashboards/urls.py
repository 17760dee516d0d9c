from django.urls import path

from payments.dashboards import views

urlpatterns = [
    path("dashboards/", views.cockpit, name="dashboards"),
    path("dashboards/live/", views.cockpit_live, name="dashboards_live"),
    path("dashboards/history/", views.history, name="dashboards_history"),
]
