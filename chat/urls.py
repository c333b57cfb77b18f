"""Chat UI, accounts and REST API routes."""
urlpatterns: list = []
