from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.monitor, name="monitor"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert"),
]
