from django.urls import include, path

from ippledge.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("ippledge.core.urls")),
    path("rights/", include("ippledge.rights.urls")),
    path("registry/", include("ippledge.registry.urls")),
    path("valuation/", include("ippledge.valuation.urls")),
    path("credit/", include("ippledge.credit.urls")),
    path("monitoring/reviews/", include("ippledge.monitoring.review_urls")),
    path("monitoring/", include("ippledge.monitoring.urls")),
    path("disposals/", include("ippledge.disposal.urls")),
    path("risk-sharing/", include("ippledge.risksharing.urls")),
    path("reports/", include("ippledge.reporting.urls")),
]

handler404 = "ippledge.core.views.page_not_found"
handler403 = "ippledge.core.views.permission_denied"
handler500 = "ippledge.core.views.server_error"
