from django.urls import path

from . import admin_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("healthz", views.healthz, name="healthz"),
    # Every role has a desk (issue 11.13): /desk/ sends each user to theirs.
    path("desk/", views.my_desk, name="desk"),
    path("desk/insurer/", views.insurer_desk, name="desk_insurer"),
    path("desk/fund/", views.fund_desk, name="desk_fund"),
    path("desk/exchange/", views.exchange_desk, name="desk_exchange"),
    path("manage/", admin_views.admin_desk, name="admin_desk"),
    path("manage/organisations/", admin_views.organisations, name="admin_orgs"),
    path("manage/organisations/new/", admin_views.organisation_new, name="admin_org_new"),
    path("manage/organisations/<int:org_id>/", admin_views.organisation_edit, name="admin_org"),
    path("manage/users/", admin_views.users, name="admin_users"),
    path("manage/users/new/", admin_views.user_new, name="admin_user_new"),
    path("manage/users/<int:user_id>/", admin_views.user_detail, name="admin_user"),
    path("manage/calendar/", admin_views.calendar, name="admin_calendar"),
    path("manage/business-date/", admin_views.business_date_page, name="admin_business_date"),
    path("manage/eod/", admin_views.eod_log, name="admin_eod"),
    path("manage/tasks/", admin_views.task_log_page, name="admin_tasks"),
]
