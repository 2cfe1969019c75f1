from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("public/", views.public_statistics, name="public"),
    path("loans/", views.loans_behind, name="loans"),
    path("overall/", views.submit_overall, name="overall"),
    path("cases/new/", views.publish_case, name="publish_case"),
]
