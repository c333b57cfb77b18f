"""Suite-wide settings: tests never touch a real LLM or a broker unless they ask for one."""
import pytest


@pytest.fixture(autouse=True)
def _eager_tasks_and_fake_llm(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CHATREC_LLM = {**settings.CHATREC_LLM, "backend": "fake"}
