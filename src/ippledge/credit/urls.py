from django.urls import path

from . import lpr_views, views

app_name = "credit"
urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("cases/", views.cases, name="cases"),
    path("cases/<str:case_no>/", views.case_page, name="case"),
    path("cases/<str:case_no>/evidence/<str:stored>", views.evidence_file, name="evidence"),
    path("loans/", views.loans, name="loans"),
    path("loans/<str:loan_no>/", views.loan_page, name="loan"),
    path("portal/", views.portal, name="portal"),
    path("matching/", views.matching, name="matching"),
    path("plans/", views.plans, name="plans"),
    path("lpr/", lpr_views.fixings, name="lpr"),
]

# Loan products on the administrator's desk (issue 11.13).
from . import product_views  # noqa: E402

urlpatterns += [
    path("products/", product_views.products, name="products"),
    path("products/new/", product_views.product_new, name="product_new"),
]
