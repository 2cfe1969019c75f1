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
    path("provisioning/", views.provisioning, name="provisioning"),
]

# Guarantee insurance (issue 13 point 3): products, policies, a policy's premium schedule.
from . import views_insurance  # noqa: E402

urlpatterns += [
    path("insurance/products/", views_insurance.products, name="insurance_products"),
    path("insurance/policies/", views_insurance.policies, name="insurance_policies"),
    path("insurance/policies/<int:policy_id>/", views_insurance.policy_detail, name="insurance_policy"),
]
