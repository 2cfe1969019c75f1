from django.urls import path

from . import views

app_name = "valuation"
urlpatterns = [
    path("", views.calculator, name="calculator"),
    path("score/", views.value_score, name="score"),
    path("records/", views.records, name="records"),
    path("records/new/", views.record_new, name="record_new"),
    path("records/<str:valuation_no>/", views.record_detail, name="record"),
    path("records/<str:valuation_no>/report.pdf", views.record_pdf, name="record_pdf"),
    path("agencies/", views.agencies, name="agencies"),
    path("agencies/<int:agency_id>/", views.agency_detail, name="agency"),
    path("experts/", views.experts, name="experts"),
    path("enterprises/<int:org_id>/", views.enterprise_scores, name="enterprise"),
]
