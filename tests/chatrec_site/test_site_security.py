"""Deployment hygiene: the Content-Security-Policy holds for the pages, and sign-in is throttled."""
from __future__ import annotations

import re

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/", "/admin/login/"])
def test_pages_send_a_strict_policy_and_need_nothing_inline(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "ws://testserver" in policy["connect-src"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html)


def test_admin_pages_need_nothing_inline(admin_client):
    for path in ["/admin/", "/admin/recommender/item/", "/admin/recommender/item/add/"]:
        response = admin_client.get(path)
        assert response.status_code == 200 and "Content-Security-Policy" in response
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), (path, INLINE_SCRIPT.search(html))
        assert not INLINE_HANDLER.search(html), (path, INLINE_HANDLER.search(html))


def test_api_docs_may_load_swagger_from_its_cdn_only(client):
    response = client.get("/api/docs/")
    policy = directives(response)
    assert "https://cdn.jsdelivr.net" in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
    assert not INLINE_SCRIPT.search(response.content.decode())


def test_sign_in_is_throttled_per_username_and_address(client, django_user_model, settings):
    from common.ratelimit import Rate

    settings.CHATREC_RATE_LIMITS = {**settings.CHATREC_RATE_LIMITS, "login": Rate(3, 900)}
    django_user_model.objects.create_user("ada", password="right-password-1")
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "ada", "password": "wrong"}).status_code == 200
    refused = client.post("/accounts/login/", {"username": "ada", "password": "right-password-1"})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session  # even the right password
    elsewhere = client.post("/accounts/login/", {"username": "ada", "password": "right-password-1"},
                            REMOTE_ADDR="10.0.0.9")
    assert elsewhere.status_code == 302  # another address is not locked out
