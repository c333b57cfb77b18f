"""Static files: WhiteNoise serves them from the folders before `collectstatic`, hashed and compressed after it."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_before_collectstatic_pages_name_plain_files_and_they_are_served(catalog):
    page = Client().get("/").content.decode()
    assert 'src="/static/chat/chat.js"' in page
    response = Client().get("/static/chat/chat.js")
    assert response.status_code == 200 and b"websocket" in b"".join(response.streaming_content).lower()


def test_after_collectstatic_pages_name_hashed_compressed_files_cached_for_good(catalog, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    page = Client().get("/").content.decode()
    hashed = next(part.split('"')[0] for part in page.split('src="')[1:] if part.startswith("/static/chat/chat."))
    assert hashed != "/static/chat/chat.js" and hashed.endswith(".js")
    response = Client().get(hashed, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"] or "max-age=315360000" in response["Cache-Control"]
    assert (tmp_path / "static" / "vendor" / "chartjs").is_dir()


def test_api_docs_use_the_bundled_swagger_ui(catalog):
    page = Client().get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_favicon_is_named_by_pages_and_served_for_the_browsers_default_path(catalog):
    assert 'rel="icon" href="/static/favicon.svg"' in Client().get("/").content.decode()
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    icon = Client().get("/static/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)


def test_pages_name_plain_files_even_when_the_working_tree_has_collected_static_files(catalog, settings, tmp_path):
    """`make demo` runs collectstatic into the project's staticfiles/; the suite must not depend on that."""
    from pathlib import Path

    collected = tmp_path / "collected"
    settings.STATIC_ROOT = collected
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (collected / "staticfiles.json").is_file()
    # The suite-wide fixture points every test at an empty folder instead, whatever the working tree holds:
    assert Path(settings.STATIC_ROOT) == collected  # (this test overrode it on purpose)
    settings.STATIC_ROOT = tmp_path / "empty"
    assert 'src="/static/chat/chat.js"' in Client().get("/").content.decode()
