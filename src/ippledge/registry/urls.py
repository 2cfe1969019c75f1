from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("", views.public_search, name="public_search"),
    path("pledges/<str:registration_no>/", views.public_record, name="public_record"),
    path("pledges/<str:registration_no>/notice.pdf", views.notice_pdf, name="notice_pdf"),
    path("certificates/verify/", views.certificate_verify, name="certificate_verify"),
    path("certificates/new/", views.certificate_new, name="certificate_new"),
    path("certificates/<str:certificate_no>.pdf", views.certificate_pdf_view, name="certificate_pdf"),
    path("applications/", views.my_applications, name="applications"),
    path("applications/new/", views.application_new, name="application_new"),
    path("applications/<str:application_no>/", views.application_detail, name="application_detail"),
    path("queue/", views.registrar_queue, name="queue"),
    path("queue/<str:application_no>/", views.review_case, name="review_case"),
    path("statistics/", views.registration_stats, name="stats"),
    path("notifications/", views.notifications, name="notifications"),
]
