"""The background warm-up: loads what a turn needs, stores nothing, never calls the LLM."""
import pytest

from chat.models import Conversation, Message
from chatrec_site import warmup
from recommender import selectors
from recommender.engine.llm import FakeBackend
from tests.chat.conftest import catalog  # noqa: F401 - the chat tests' small catalog

pytestmark = pytest.mark.django_db(transaction=True)


def test_warm_up_loads_the_catalog_and_calls_no_llm(catalog, settings, monkeypatch):  # noqa: F811
    backend = FakeBackend(default="1, 2, 3")
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: backend)
    settings.CHATREC_LLM_RERANK = settings.CHATREC_LLM_READ = settings.CHATREC_LLM_REPLY = True
    selectors.reset_caches()
    assert warmup.warm() >= 0
    assert backend.calls == []
    assert "catalog" in selectors.SERVING._parts  # the next turn finds the catalog built
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_failed_warm_up_is_logged_and_changes_nothing(monkeypatch, caplog):
    monkeypatch.setattr(warmup, "warm", lambda: 1 / 0)
    warmup.start().join(timeout=10)
    assert "warm-up failed" in caplog.text
