"""Chat UI, accounts and REST API routes."""
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path

from chat import api, views

urlpatterns = [
    path("", views.chat_page, name="chat"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("api/v1/recommend", api.RecommendView.as_view(), name="api-recommend"),
    path("api/v1/feedback", api.FeedbackView.as_view(), name="api-feedback"),
    path("api/v1/items", api.ItemListView.as_view(), name="api-items"),
    path("api/v1/items/<int:item_id>", api.ItemDetailView.as_view(), name="api-item"),
    # The page's own script and styles, served by the app so a bare Daphne is a complete server;
    # a reverse proxy in front may serve STATIC_ROOT (after collectstatic) instead.
    re_path(r"^static/(?P<path>.+)$", serve_static, {"insecure": True}),
]
