"""Suite-wide settings: tests never touch a real LLM or a broker unless they ask for one, and never read what the
working tree has built (a `collectstatic` run by `make demo` leaves hashed names in staticfiles/)."""
import pytest


@pytest.fixture(autouse=True)
def _eager_tasks_and_fake_llm(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CHATREC_LLM = {**settings.CHATREC_LLM, "backend": "fake"}


@pytest.fixture(autouse=True)
def _static_root_of_the_test(settings, tmp_path_factory):
    """Point STATIC_ROOT at an empty folder: pages name plain static files, as before any `collectstatic`."""
    settings.STATIC_ROOT = tmp_path_factory.getbasetemp() / "no-collectstatic"
