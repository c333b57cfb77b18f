"""Websocket routes (served under Daphne through auth middleware and an origin check)."""
websocket_urlpatterns: list = []
