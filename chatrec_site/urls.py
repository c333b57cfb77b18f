"""Top-level routes: admin dashboard, API schema, and the chat app (UI, accounts, REST API)."""
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chat.exports import export_lines, window_rows
from chat.selectors import DASHBOARD_TURN_READS
from chatrec_site.health import healthz, livez
from recommender.dashboard import dashboard_page, feedback_export_page

admin.site.site_header = "ChatRec dashboard"
admin.site.site_title = "ChatRec"
admin.site.index_title = "Catalog, users and feedback"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's): send them to the project's one.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    # The dashboard (recommender app) reads stored turns and exports feedback through the chat app's reads.
    path("admin/dashboard/", dashboard_page, {"turn_reads": DASHBOARD_TURN_READS}, name="dashboard"),
    path("admin/dashboard/export", feedback_export_page, {"export_rows": window_rows, "export_lines": export_lines},
         name="dashboard-export"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file, so the page runs under the site's CSP without inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("chat.urls")),
]

# Under /api/, failures Django answers itself (no such route, a malformed request) keep the API's error shape.
handler400 = "chatrec_site.errors.bad_request"
handler403 = "chatrec_site.errors.permission_denied"
handler404 = "chatrec_site.errors.not_found"
handler500 = "chatrec_site.errors.server_error"
