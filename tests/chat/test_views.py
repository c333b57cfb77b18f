"""The chat page, its static files, sign-up and the Chinese interface."""
from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_chat_page_gives_a_guest_a_cookie_and_loads_its_script(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.cookies["chatrec_guest"].value and "sessionid" not in response.cookies  # no session row
    html = response.content.decode()
    assert "chat/chat.js" in html and 'data-testid="message-input"' in html
    assert client.get("/static/chat/chat.js").status_code == 200
    assert client.get("/static/chat/chat.css").status_code == 200


def test_page_script_writes_model_and_user_text_as_text_only(client):
    script = b"".join(client.get("/static/chat/chat.js").streaming_content).decode()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_sign_up_signs_in_and_returns_to_the_chat(client):
    response = client.post("/accounts/signup/", {"username": "lin", "password1": "a-long-passphrase-9",
                                                 "password2": "a-long-passphrase-9"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert get_user_model().objects.filter(username="lin").exists()
    assert 'data-testid="username"' in client.get("/").content.decode()


def test_sign_up_rejects_mismatched_passwords(client):
    response = client.post("/accounts/signup/", {"username": "lin", "password1": "a-long-passphrase-9",
                                                 "password2": "different-passphrase-9"})
    assert response.status_code == 200 and not get_user_model().objects.exists()


def test_chinese_interface(client):
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/").content.decode()
    assert 'lang="zh-hans"' in html
    for text in ("发送", "新对话", "登录"):
        assert text in html
    strings = json.loads(re.search(r'<script id="ui-strings" type="application/json">(.*?)</script>', html).group(1))
    assert strings["why"] == "为什么推荐？" and strings["like"] == "喜欢"
