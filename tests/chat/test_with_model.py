"""Turns served by a real (tiny) trained model: items first, evidence from the model, stored history used."""
from __future__ import annotations

import pytest
from django.utils import timezone

from chat import services
from recommender import selectors
from recommender.models import Interaction, Profile

pytestmark = pytest.mark.django_db

def turn_frames(text, profile, conversation, k):
    return [e.frame() for e in services.turn_start(text=text, profile=profile, conversation=conversation, k=k).events()]


def fixed_choice(arm, propensity=1.0):
    """Return a stand-in for the policy's draw that always takes `arm` (logged with `propensity`)."""
    return lambda context, **offered: services.policy.Choice(arm, propensity, {arm: propensity}, context)


FAST_CONFIG = {"components": {"ease": {"l2": 10.0}, "popularity": {}}, "tune": {}, "rating": None}


@pytest.fixture
def trained(catalog, settings, tmp_path, monkeypatch):
    """Train and activate a small EASE + popularity model on synthetic taste groups; return the catalog."""
    from recommender.services.training import model_train

    settings.CHATREC_ARTIFACTS_DIR = tmp_path
    groups = [["ml-100", "ml-56", "ml-313"], ["ml-1", "ml-71", "ml-94"], ["ml-50", "ml-183", "ml-204"]]
    for g, group in enumerate(groups):
        for u in range(6):
            person = Profile.objects.create(kind="imported", source="synthetic", external_id=f"g{g}-{u}")
            for ext in group[: 2 + u % 2]:
                Interaction.objects.create(profile=person, item=catalog[ext], kind="like",
                                           occurred_at=timezone.now(), origin="import")
    model_train(config=FAST_CONFIG)
    monkeypatch.undo()  # the suite's default patches would hide the model
    selectors.reset_caches()
    return catalog


def test_model_serves_the_turn_and_its_evidence_names_the_persons_likes(trained, guest, quiet_engine, monkeypatch):
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: quiet_engine)
    monkeypatch.setattr(services.policy, "strategy_choose_for", fixed_choice("balanced"))
    profile, _ = guest
    Interaction.objects.create(profile=profile, item=trained["ml-100"], kind="like", occurred_at=timezone.now())
    conversation = services.conversation_start(profile=profile)
    events = turn_frames("recommend something", profile, conversation, k=3)
    kinds = [e["type"] for e in events]
    assert kinds.index("chat.items") < kinds.index("chat.explanation")
    items = next(e for e in events if e["type"] == "chat.items")
    assert items["strategy"] != "popularity"
    ids = [card["id"] for card in items["items"]]
    assert trained["ml-100"].pk not in ids  # already liked: never recommended again
    assert {trained["ml-56"].pk, trained["ml-313"].pk} <= set(ids)  # Fargo's group comes first
    explanations = [e for e in events if e["type"] == "chat.explanation"]
    cited = {ev.get("item_id") for e in explanations for ev in e["evidence"] if ev["kind"] == "liked_item"}
    assert cited == {str(trained["ml-100"].pk)}
    assert any("Fargo" in e["text"] for e in explanations)


def test_exploration_picks_are_labelled_and_feedback_credits_the_strategy(trained, guest, quiet_engine, monkeypatch):
    from recommender.engine import contextual, rules
    from recommender.models import BanditArm, ShownList
    from recommender.services.policy import POLICY, policy_model, policy_update

    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: quiet_engine)
    monkeypatch.setattr(services.policy, "strategy_choose_for", fixed_choice("explore", 0.25))
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    events = turn_frames("recommend something", profile, conversation, k=4)
    items = next(e for e in events if e["type"] == "chat.items")
    assert items["strategy"] == "explore"
    explanations = [e for e in events if e["type"] == "chat.explanation"]
    explored = [e for e in explanations if any(ev["kind"] == "exploration" for ev in e["evidence"])]
    assert len(explored) == 2  # the last two places are exploration picks, said so
    picked = items["items"][0]["id"]
    shown = ShownList.objects.get(conversation=conversation)
    assert (shown.arm, shown.propensity, shown.forced) == ("explore", 0.25, False)
    assert shown.items == [str(card["id"]) for card in items["items"]]
    assert shown.context["intent"] == "recommend" and shown.context["catalog_size"] == len(trained)
    event, _ = services.feedback_record(profile=profile, item_id=picked, kind="like", conversation=conversation)
    assert event.context["strategy"] == "explore"
    assert (event.context["list"], event.context["propensity"]) == (shown.pk, 0.25)
    policy_update()  # what the queued task does once the transaction commits
    arm = BanditArm.objects.get(policy=POLICY, arm="explore")
    assert (arm.successes, arm.pulls) == (1.0 + rules.GUEST_REWARD_WEIGHT, 1)  # a guest's like counts half
    model = policy_model()
    x = contextual.context_vector(shown.context)
    # one list folded, with the like's reward at a guest's weight
    assert model.arms["explore"].b == pytest.approx(rules.GUEST_REWARD_WEIGHT * x)
    assert model.arms["balanced"].b == pytest.approx(0 * x)


def test_an_item_the_person_rated_low_is_not_cited_as_liked(trained, guest, quiet_engine, monkeypatch):
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: quiet_engine)
    monkeypatch.setattr(services.policy, "strategy_choose_for", fixed_choice("balanced"))
    profile, _ = guest
    Interaction.objects.create(profile=profile, item=trained["ml-100"], kind="rating", value=3.0,
                               occurred_at=timezone.now())
    conversation = services.conversation_start(profile=profile)
    events = turn_frames("recommend something", profile, conversation, k=3)
    explanations = [e for e in events if e["type"] == "chat.explanation"]
    fargo = str(trained["ml-100"].pk)
    kinds = {ev["kind"] for e in explanations for ev in e["evidence"] if ev.get("item_id") == fargo}
    assert kinds == {"history_item"}, "the model's evidence should cite the rated film as history, never as liked"
    citing = [e for e in explanations if any(ev.get("item_id") == fargo for ev in e["evidence"])]
    for e in citing:
        assert "history with Fargo" in e["text"] and "liked Fargo" not in e["text"]


@pytest.mark.parametrize("switched_on", [True, False])
def test_the_llm_rerank_arm_is_offered_only_with_an_enabled_backend_and_reranking_on(
        trained, guest, quiet_engine, monkeypatch, settings, switched_on):
    from recommender.engine import bandit
    from recommender.models import ShownList

    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: quiet_engine)
    settings.CHATREC_LLM_RERANK = switched_on
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    turn_frames("recommend something", profile, conversation, k=3)
    shown = ShownList.objects.get(conversation=conversation)
    offered = bandit.offered_arms(llm_rerank=switched_on)
    assert sorted(shown.probabilities) == sorted(offered)
    assert sum(shown.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert shown.propensity == pytest.approx(shown.probabilities[shown.arm], abs=1e-6)


def test_a_disabled_backend_offers_no_rerank_arm(trained, guest, monkeypatch, settings):
    from recommender.engine.llm import NoneBackend
    from recommender.models import ShownList

    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: NoneBackend())
    settings.CHATREC_LLM_RERANK = True
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    turn_frames("recommend something", profile, conversation, k=3)
    assert "llm-rerank" not in ShownList.objects.get(conversation=conversation).probabilities


def test_drawing_the_rerank_arm_runs_the_llm_and_other_arms_do_not(trained, guest, quiet_engine, monkeypatch,
                                                                    settings):
    from recommender.engine import bandit
    from recommender.models import ShownList

    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: quiet_engine)
    settings.CHATREC_LLM_RERANK = True
    quiet_engine.default = "2, 1"
    profile, _ = guest
    monkeypatch.setattr(services.policy, "strategy_choose_for", fixed_choice("balanced", 0.5))
    plain = turn_frames("recommend something", profile, None, k=3)
    assert not any("Rank the candidates" in prompt for prompt in quiet_engine.calls)
    assert "rerank" not in next(e for e in plain if e["type"] == "chat.done")
    monkeypatch.setattr(services.policy, "strategy_choose_for", fixed_choice(bandit.LLM_RERANK, 0.2))
    conversation = services.conversation_start(profile=profile)
    drawn = turn_frames("recommend something", profile, conversation, k=3)
    assert any("Rank the candidates" in prompt for prompt in quiet_engine.calls)
    assert next(e for e in drawn if e["type"] == "chat.done")["rerank"]["applied"] is True
    first = [card["id"] for card in next(e for e in plain if e["type"] == "chat.items")["items"]]
    second = [card["id"] for card in next(e for e in drawn if e["type"] == "chat.items")["items"]]
    assert second[:2] == [first[1], first[0]]  # the LLM's "2, 1" over the same candidates
    shown = ShownList.objects.get(conversation=conversation)
    assert (shown.arm, shown.propensity) == (bandit.LLM_RERANK, 0.2)


def test_a_stateless_call_ranks_with_the_best_rated_strategy_and_never_draws(trained, monkeypatch):
    """Nothing of a REST call is logged, so exploring there would cost quality and teach the policy nothing."""
    from recommender.engine import contextual
    from recommender.models import PolicyState, ShownList
    from recommender.services.policy import POLICY, policy_model

    def no_draw(context, **offered):
        raise AssertionError("a stateless call drew a strategy")

    monkeypatch.setattr(services.policy, "strategy_choose_for", no_draw)
    messages = [{"role": "user", "content": "recommend something"}]
    fresh = services.recommend_from_messages(messages=messages, profile=None, k=3)
    assert fresh.strategy == "balanced", "before any evidence the default strategy serves"
    # Teach the policy that popular-first pays in every context; the next call follows it.
    model = policy_model()
    for _ in range(30):
        for arm in model.names:
            model.update(arm, contextual.context_vector({}) + 1.0, 1.0 if arm == "popular-first" else -1.0)
    PolicyState.objects.update_or_create(policy=POLICY, defaults={"state": model.to_state()})
    taught = services.recommend_from_messages(messages=messages, profile=None, k=3)
    assert taught.strategy == "popular-first" and taught.items
    assert not ShownList.objects.exists()
