from django.urls import path

from . import review_views

app_name = "monitoring_reviews"
urlpatterns = [
    path("<str:loan_no>/", review_views.reviews_page, name="reviews"),
]
