from django.urls import path

from . import views

app_name = "disposal"
urlpatterns = [
    path("", views.cases, name="cases"),
    path("listings/", views.listings, name="listings"),
    path("fee-relief/", views.fee_relief, name="fee_relief"),
    path("realised-prices/", views.realised_prices, name="realised_prices"),
    path("set-offs/", views.setoffs, name="setoffs"),
    path("<str:disposal_no>/set-off/", views.setoff, name="setoff"),
    path("<str:disposal_no>/", views.case_detail, name="case"),
]
