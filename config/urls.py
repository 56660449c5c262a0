from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from config.api import api
from marsad.web import views as web_views

urlpatterns = [
    path("api/v1/", api.urls),
    # Anything else under /api/ is a problem+json 404, in every mode (the DEBUG page is HTML).
    re_path(r"^api/", web_views.api_not_found),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", web_views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url="/static/web/favicon.svg", permanent=True)),
]
urlpatterns += i18n_patterns(
    path("", include("marsad.web.urls")),
    path("", include("marsad.registry.urls")),
    path("", include("marsad.alerts.urls")),
    path("", include("marsad.accounts.urls")),
    path("", include("marsad.exchange.urls")),
    # The settings' LOGIN_REDIRECT_URL and LOGOUT_REDIRECT_URL name the home page "home".
    path("", web_views.home, name="home"),
    prefix_default_language=True,
)

handler403 = "marsad.accounts.views.permission_denied"
handler404 = "marsad.web.views.not_found"
handler500 = "marsad.web.views.server_error"
