from django.urls import path

from . import views

app_name = "rights"
urlpatterns = [
    path("", views.right_list, name="list"),
    path("new/", views.right_new, name="new"),
    path("<str:kind>/<str:number>/", views.right_detail, name="detail"),
]
