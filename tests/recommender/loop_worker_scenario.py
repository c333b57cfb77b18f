"""Steps of the learning loop run as a deployment runs them, each in its own process (see test_learning_worker.py):

    python -m tests.recommender.loop_worker_scenario prepare|socket|retrain

`prepare` stores a catalog, people and a first (popularity only) model; `socket` has a guest ask for films over
the websocket and like one, then waits for the Celery worker to fold it into the policy; `retrain` asks the
worker to retrain with a better and then a worse configuration. Each prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")
django.setup()

from channels.testing import WebsocketCommunicator  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402

from recommender.engine import contextual, rules  # noqa: E402
from recommender.models import Interaction, PolicyState, Profile, ShownList  # noqa: E402
from recommender.services.training import model_train  # noqa: E402
from tests.recommender.test_learning_loop import FULL, WORSE, taste_groups  # noqa: E402

WAIT_S = 90


def prepare() -> dict:
    taste_groups()
    model_train(config=WORSE)
    session = SessionStore()
    session["guest"] = True
    session.create()
    Profile.objects.create(kind="guest", session_key=session.session_key)
    return {"session": session.session_key}


async def _socket_turn(session_key: str) -> tuple[dict, dict]:
    from chatrec_site.asgi import application

    comm = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"http://testserver"), (b"cookie", f"sessionid={session_key}".encode())],
    )
    assert (await comm.connect(timeout=120))[0]
    await comm.send_json_to({"type": "message", "text": "recommend some films", "k": 4})
    frames = []
    while not frames or frames[-1]["type"] != "chat.done":
        frames.append(await comm.receive_json_from(timeout=60))
    items = next(f for f in frames if f["type"] == "chat.items")
    await comm.send_json_to({"type": "feedback", "item": items["items"][0]["id"], "kind": "like", "key": "first"})
    saved = await comm.receive_json_from(timeout=30)
    await comm.disconnect()
    return items, saved


def socket(session_key: str) -> dict:
    items, saved = asyncio.run(_socket_turn(session_key))
    shown = ShownList.objects.get(message_id__isnull=False)
    event = Interaction.objects.get(pk=saved["id"])
    deadline = time.monotonic() + WAIT_S
    state = PolicyState.objects.filter(events_through__gte=event.pk).first()
    while state is None and time.monotonic() < deadline:  # the worker folds it after the queued task runs
        time.sleep(0.5)
        state = PolicyState.objects.filter(events_through__gte=event.pk).first()
    folded = state.state["arms"][shown.arm]["b"] if state else None
    x = contextual.context_vector(shown.context).tolist()
    return {
        "strategy": items["strategy"],
        "list_arm": shown.arm,
        "propensity": shown.propensity,
        "probability_of_arm": shown.probabilities.get(shown.arm),
        "event_list": event.context.get("list"),
        "event_propensity": event.context.get("propensity"),
        "list_id": shown.pk,
        "folded_b": folded,
        "expected_b": [rules.GUEST_REWARD_WEIGHT * v for v in x],
        "lists_through": state.lists_through if state else None,
    }


def retrain() -> dict:
    from recommender.tasks import retrain as task

    better = task.delay(min_new_events=0, config=FULL).get(timeout=300)
    worse = task.delay(min_new_events=0, config=WORSE).get(timeout=300)
    return {"better": better, "worse": worse}


if __name__ == "__main__":
    step = sys.argv[1]
    result = {"prepare": prepare, "retrain": retrain}[step]() if step != "socket" else socket(sys.argv[2])
    print("RESULT " + json.dumps(result, default=str))
