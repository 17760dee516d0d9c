from django.urls import path

from extracts import views

app_name = "extracts"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/download/", views.download, name="download"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/<int:pk>/delete/", views.schedule_delete, name="schedule_delete"),
]
