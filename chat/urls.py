"""Chat UI, accounts and REST API routes."""
from django.contrib.auth import views as auth_views
from django.urls import path

from chat import api, social_api, social_views, views

urlpatterns = [
    path("", views.chat_page, name="chat"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", views.signup, name="signup"),
    path("my-data/download", views.my_data_download, name="my-data-download"),
    path("my-data/delete", views.my_data_delete, name="my-data-delete"),
    path("api/v1/recommend", api.RecommendView.as_view(), name="api-recommend"),
    path("api/v1/feedback", api.FeedbackView.as_view(), name="api-feedback"),
    path("api/v1/items", api.ItemListView.as_view(), name="api-items"),
    path("api/v1/items/<int:item_id>", api.ItemDetailView.as_view(), name="api-item"),
    path("connections/", social_views.connections_page, name="connections"),
    path("api/v1/connections", social_api.ConnectionsView.as_view(), name="api-connections"),
    path("api/v1/connections/settings", social_api.SocialSettingsView.as_view(), name="api-connections-settings"),
    path("api/v1/connections/<int:relation_id>", social_api.ConnectionView.as_view(), name="api-connection"),
]
