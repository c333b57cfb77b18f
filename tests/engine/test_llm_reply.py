"""LLM-written replies in the turn: which turns get one, streamed as produced, replaced when a check fails."""
from __future__ import annotations

import pytest

from recommender.engine.conversation import ServingCatalog, TurnInput, collect
from recommender.engine.llm import FakeBackend, LLMError
from recommender.engine.llm.turn import LLMSteps
from recommender.engine.understanding import ConversationState
from tests.engine.test_conversation import records


@pytest.fixture(scope="module")
def catalog() -> ServingCatalog:
    return ServingCatalog.build(records(), {"2": 4.0, "3": 3.0, "1": 2.0})


def plan_for(text, catalog, backend, **kw):
    return collect(TurnInput(text=text, state=ConversationState(), catalog=catalog, backend=backend, k=3, **kw))


def test_only_small_talk_and_factual_answers_are_written_and_only_when_asked(catalog):
    backend = FakeBackend(default="Hi! Happy to help, shall I suggest something?")
    assert plan_for("hello there", catalog, backend, llm=LLMSteps(reply=True)).written is not None
    assert plan_for("what year is Fargo from?", catalog, backend, llm=LLMSteps(reply=True)).written is not None
    assert plan_for("recommend a comedy", catalog, backend, llm=LLMSteps(reply=True)).written is None
    assert plan_for("hello there", catalog, backend).written is None
    assert backend.calls == []  # nothing is generated until the reply is streamed


def test_a_written_reply_streams_the_backend_chunks_and_stands_when_it_checks(catalog):
    backend = FakeBackend(default="Hi! Happy to help, shall I suggest something?", chunk_size=5)
    written = plan_for("hello there", catalog, backend, llm=LLMSteps(reply=True)).written
    chunks = list(written.stream())
    assert len(chunks) > 3 and "".join(chunks) == "Hi! Happy to help, shall I suggest something?"
    assert written.replacement() is None


@pytest.mark.parametrize("text, reply, problem", [
    ("what year is Fargo from?", "Fargo came out in 1994.", "year 1994"),
    ("what year is Fargo from?", "Fargo is like Star Wars (1977).", "Star Wars"),
    ("hello there", "Hi! Fargo is great tonight.", "Fargo"),
    ("hello there", "Hi! Look at <b>this</b>.", "markup"),
])
def test_a_written_reply_that_states_an_unbacked_fact_is_replaced(catalog, text, reply, problem):
    plan = plan_for(text, catalog, FakeBackend(default=reply), llm=LLMSteps(reply=True))
    written = plan.written
    list(written.stream())
    assert written.replacement() == plan.reply and any(problem in p for p in written.problems)


def test_a_backend_failing_mid_stream_ends_the_stream_and_the_template_replaces_it(catalog):
    class Breaks(FakeBackend):
        def _stream(self, prompt, max_tokens, stop, temperature):
            yield "Hi! Happy"
            raise LLMError("connection reset")

    plan = plan_for("hello there", catalog, Breaks(), llm=LLMSteps(reply=True))
    streamed = "".join(plan.written.stream())
    assert streamed and "Hi! Happy".startswith(streamed)  # the tail that could start a stop string is held back
    assert plan.written.replacement() == plan.reply and "connection reset" in plan.written.problems[0]
