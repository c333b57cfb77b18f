"""Property-based fuzzing of websocket frames (hypothesis, bounded examples): whatever arrives, the server
answers with protocol frames, never `internal`, and the connection stays open and usable."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chat.test_consumers import TIMEOUT, _release_turn_threads, communicator  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

# Every frame type except "message" (a whole turn per example would make the run slow; turns have their own
# tests); plus unknown types.
TYPES = st.sampled_from(["feedback", "stop", "conversation.list", "conversation.open", "conversation.new", "ping",
                         "pong", "chat.done", "", "FEEDBACK"]) | st.text(max_size=12)
odd_text = st.text(alphabet=st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=30)
values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), odd_text),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
FIELDS = st.sampled_from(["item", "kind", "value", "key", "conversation", "text", "k", "language"])
frames = st.one_of(
    st.builds(lambda t, extra: {"type": t, **extra}, TYPES, st.dictionaries(FIELDS, values, max_size=5)),
    values,
)


def encode(frame) -> str:
    try:
        return json.dumps(frame, allow_nan=True)
    except (ValueError, TypeError):
        return str(frame)


@pytest.fixture
def session(catalog, guest, settings):
    from common.ratelimit import Rate

    # Every fuzzed frame should reach its handler, not stop at a rate limit.
    settings.CHATREC_RATE_LIMITS = {name: Rate(100_000, 60) for name in settings.CHATREC_RATE_LIMITS}
    return guest[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.lists(st.one_of(frames.map(encode), odd_text, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))),
                min_size=1, max_size=5))
def test_any_frames_get_protocol_answers_and_the_socket_survives(session, batch):
    async def run():
        comm = communicator(session)
        assert (await comm.connect())[0]
        for raw in batch:
            await comm.send_to(text_data=raw or " ")  # the test client cannot send an empty text frame
        await comm.send_to(text_data='{"type": "ping"}')
        while True:
            reply = await comm.receive_json_from(timeout=TIMEOUT)
            assert isinstance(reply.get("type"), str)
            if reply["type"] == "chat.error":
                assert reply["code"] != "internal", reply
                assert "Traceback" not in reply["message"]
            if reply["type"] == "pong":
                break
        await comm.disconnect()

    async_to_sync(run)()
