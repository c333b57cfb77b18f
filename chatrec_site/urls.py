"""Top-level routes: admin dashboard, API schema, and the chat app (UI, accounts, REST API)."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from recommender.dashboard import dashboard_page

admin.site.site_header = "ChatRec dashboard"
admin.site.site_title = "ChatRec"
admin.site.index_title = "Catalog, users and feedback"

urlpatterns = [
    path("admin/dashboard/", dashboard_page, name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("chat.urls")),
]
