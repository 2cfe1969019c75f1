from django.urls import path

from . import views

app_name = "risksharing"
urlpatterns = [
    path("", views.schemes, name="schemes"),
    path("schemes/<int:scheme_id>/", views.scheme_detail, name="scheme"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("claims/", views.claims, name="claims"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim"),
    path("loans/<str:loan_no>/", views.loan_detail, name="loan"),
]
