from django.urls import path

from . import lpr_views, views

app_name = "credit"
urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("cases/<str:case_no>/", views.case_page, name="case"),
    path("cases/<str:case_no>/evidence/<str:stored>", views.evidence_file, name="evidence"),
    path("loans/<str:loan_no>/", views.loan_page, name="loan"),
    path("portal/", views.portal, name="portal"),
    path("matching/", views.matching, name="matching"),
    path("plans/", views.plans, name="plans"),
    path("lpr/", lpr_views.fixings, name="lpr"),
]
