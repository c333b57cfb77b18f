"""Learned understanding: label derivation from ReDial questionnaires, fitting, prediction, save/load, seeds."""
from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.engine.dialogues import read_redial
from recommender.engine.embedding import HashingEmbedder
from recommender.engine.understanding import learned as L

EMBEDDER = HashingEmbedder(dim=128)

LIKED = ["I loved <movie>", "<movie> was great", "<movie> is one of my favorites", "I really enjoyed <movie>",
         "<movie> was amazing, loved it", "we had a great time watching <movie>", "<movie> is awesome",
         "my favorite is <movie>, so good"]
DISLIKED = ["I hated <movie>", "<movie> was boring", "<movie> was terrible", "I did not like <movie> at all",
            "<movie> was awful and boring", "<movie> is the worst", "honestly <movie> was bad", "I hated how boring <movie> was"]


def sentiment_examples():
    return ([L.Example(text=t, label="liked", group=f"l{k}") for k, t in enumerate(LIKED)]
            + [L.Example(text=t, label="disliked", group=f"d{k}") for k, t in enumerate(DISLIKED)])


def test_sentiment_model_predicts_obvious_held_out_cases():
    model = L.fit_mention_sentiment(sentiment_examples(), embedder=EMBEDDER, seed=0, l2=1e-3)
    assert model.predict("I loved Heat, it was great", item_title="Heat")[0] == "liked"
    assert model.predict("Heat was so boring and awful", item_title="Heat (1995)")[0] == "disliked"
    label, probability = model.predict("I hated it, Heat was terrible", item_title="Heat")
    assert label == "disliked" and 0.5 < probability <= 1.0


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    model = L.fit_mention_sentiment(sentiment_examples(), embedder=EMBEDDER, seed=0, with_rule=True)
    texts = ["I loved <movie>", "<movie> was bad", "not sure about <movie>"]
    rules = ["liked", "none", "neutral"]
    before = model.predict_proba(texts, ["", "have you seen <movie>?", ""], rules)
    loaded = L.MentionSentimentModel.load(model.save(tmp_path / "m"))
    after = loaded.predict_proba(texts, ["", "have you seen <movie>?", ""], rules)
    np.testing.assert_array_equal(before, after)
    assert loaded.labels == L.SENTIMENT_LABELS and loaded.features == model.features
    assert isinstance(loaded.embedder, HashingEmbedder) and loaded.embedder.dim == 128
    assert not list(tmp_path.rglob("*.pkl"))
    with pytest.raises(ValueError, match="not 'intent'"):
        L.IntentModel.load(tmp_path / "m")
    with pytest.raises(ValueError, match="features"):
        L.MentionSentimentModel.load(tmp_path / "m", embedder=HashingEmbedder(dim=64))


def test_fitting_is_deterministic_under_a_seed():
    first = L.fit_mention_sentiment(sentiment_examples(), embedder=EMBEDDER, seed=3)
    second = L.fit_mention_sentiment(sentiment_examples(), embedder=EMBEDDER, seed=3)
    np.testing.assert_array_equal(first.weights, second.weights)
    np.testing.assert_array_equal(first.bias, second.bias)
    assert first.meta["l2"] == second.meta["l2"] and first.meta["l2"] in L.L2_GRID


def test_rule_feature_is_used_when_present():
    # The text says nothing; only the rule's reading separates the classes.
    examples = [L.Example(text="<movie>", label="liked", rule="liked", group=str(k)) for k in range(6)]
    examples += [L.Example(text="<movie>", label="disliked", rule="disliked", group=str(k + 6)) for k in range(6)]
    model = L.fit_mention_sentiment(examples, embedder=EMBEDDER, seed=0, with_rule=True, l2=1e-3)
    assert model.predict("Heat", item_title="Heat", rule="disliked")[0] == "disliked"
    assert model.predict("Heat", item_title="Heat", rule="liked")[0] == "liked"


def test_intent_model_learns_requests_greetings_and_questions():
    data = {
        "recommend": ["recommend me a horror movie", "I want a funny comedy", "suggest a good thriller please",
                      "looking for a romantic movie", "can you recommend an action film", "I want something scary"],
        "chitchat": ["hi there", "hello, how are you", "thanks, bye", "thank you so much, goodbye", "hey hello",
                     "good evening, how are you"],
        "ask_info": ["what is it about?", "who directed it?", "how long is it?", "what year is it from?",
                     "who is in it?", "what is the plot about?"],
        "feedback": ["I loved that one", "that one was boring", "I already saw it, great movie", "not my thing",
                     "I hated it", "seen it, loved it"],
    }
    examples = [L.Example(text=t, label=label, group=f"{label}{k}") for label, texts in data.items()
                for k, t in enumerate(texts)]
    model = L.fit_intent(examples, embedder=EMBEDDER, seed=0, l2=1e-3)
    assert model.predict("can you recommend a scary horror movie")[0] == "recommend"
    assert model.predict("hello there, how are you")[0] == "chitchat"
    assert model.predict("who is in it and what is it about?")[0] == "ask_info"


def test_fit_refuses_a_single_label():
    with pytest.raises(ValueError, match="two labels"):
        L.fit_mention_sentiment([L.Example(text="x", label="liked")] * 3, embedder=EMBEDDER)


def test_mask_titles_masks_item_and_others_with_or_without_year():
    text = "I loved Heat but The Matrix (1999) was better than heat"
    masked = L.mask_titles(text, ["Heat (1995)"], ["The Matrix (1999)"])
    assert masked == f"I loved {L.ITEM} but {L.OTHER} was better than {L.ITEM}"


# A tiny dialogue in the ReDial format, written here (seeker 1, recommender 2).
REDIAL = {
    "conversationId": "20", "initiatorWorkerId": 1, "respondentWorkerId": 2,
    "movieMentions": {"111": "Heat (1995)", "222": "Alien (1979)", "333": "Up (2009)", "444": "Cars (2006)"},
    "messages": [
        {"senderWorkerId": 1, "text": "hi", "messageId": 1, "timeOffset": 0},
        {"senderWorkerId": 2, "text": "hello! what do you like?", "messageId": 2, "timeOffset": 1},
        {"senderWorkerId": 1, "text": "I loved @111 but I hated @222", "messageId": 3, "timeOffset": 2},
        {"senderWorkerId": 1, "text": "any other thrillers?", "messageId": 4, "timeOffset": 3},
        {"senderWorkerId": 2, "text": "Try @333", "messageId": 5, "timeOffset": 4},
        {"senderWorkerId": 1, "text": "Seen it, it is great", "messageId": 6, "timeOffset": 5},
        {"senderWorkerId": 2, "text": "How about @444 ?", "messageId": 7, "timeOffset": 6},
        {"senderWorkerId": 1, "text": "I will check out @444", "messageId": 8, "timeOffset": 7},
        {"senderWorkerId": 2, "text": "enjoy", "messageId": 9, "timeOffset": 8},
        {"senderWorkerId": 1, "text": "thanks, bye", "messageId": 10, "timeOffset": 9},
    ],
    "initiatorQuestions": {"111": {"suggested": 0, "seen": 1, "liked": 1},
                           "222": {"suggested": 0, "seen": 1, "liked": 0},
                           "333": {"suggested": 1, "seen": 1, "liked": 1},
                           "444": {"suggested": 1, "seen": 0, "liked": 1}},
    "respondentQuestions": {},
}


@pytest.fixture()
def dialogue(tmp_path):
    path = tmp_path / "redial.jsonl"
    path.write_text(json.dumps(REDIAL) + "\n", encoding="utf-8")
    [(_, parsed)] = list(read_redial(path))
    return parsed


def test_mention_labels_come_from_the_seekers_liked_answer(dialogue):
    examples = {e.item_id: e for e in L.mention_examples(dialogue)}
    assert set(examples) == {"111", "222", "444"}  # 333 was named only by the recommender
    assert examples["111"].label == "liked" and examples["222"].label == "disliked"
    assert examples["111"].text == f"I loved {L.ITEM} but I hated {L.OTHER}"
    assert examples["222"].text == f"I loved {L.OTHER} but I hated {L.ITEM}"
    assert examples["111"].raw_text == "I loved Heat but I hated Alien"
    assert examples["111"].context == "hello! what do you like?" and examples["111"].seen is True


def test_did_not_say_gives_no_example(dialogue):
    dialogue.seeker_answers["111"].liked = None
    assert "111" not in {e.item_id for e in L.mention_examples(dialogue)}
    assert L.sentiment_label(None) is None


def test_reaction_labels_come_from_the_answers_about_suggested_movies(dialogue):
    examples = L.reaction_examples(dialogue)
    assert [(e.item_id, e.label) for e in examples] == [("333", "seen"), ("444", "accepts")]
    assert examples[0].text == "Seen it, it is great" and examples[0].context == f"Try {L.ITEM}"
    assert examples[1].text == f"I will check out {L.ITEM}"
    dialogue.seeker_answers["444"].liked = False
    assert L.reaction_examples(dialogue)[1].label == "rejects"


def test_weak_intent_labels(dialogue):
    labels = [(e.raw_text, e.label) for e in L.intent_examples_from_dialogue(dialogue)]
    assert ("hi", "chitchat") in labels and ("thanks, bye", "chitchat") in labels
    # Names movies: left unlabelled, although the recommender answered with a new movie.
    assert all(not text.startswith("I loved Heat") for text, _ in labels)
    # The reply to Cars is followed by no new suggestion: feedback.
    assert ("I will check out Cars", "feedback") in labels
    assert ("Seen it, it is great", "feedback") not in labels  # the recommender went on suggesting


def test_fit_all_writes_and_load_all_reads_the_models(dialogue, tmp_path):
    labelled = [{"id": "c1", "turns": [{"text": t, "gold": {"intent": i}}]} for t, i in
                [("recommend a comedy", "recommend"), ("what is it about?", "ask_info"), ("hello", "chitchat"),
                 ("I loved it", "feedback")]]
    summary = L.fit_all([dialogue], tmp_path, labelled_intents=labelled, embedder=EMBEDDER, seed=0)
    assert summary["mention_sentiment"]["examples"] == 3
    assert summary["reaction"]["labels"] == {"seen": 1, "accepts": 1}
    models = L.load_all(tmp_path, embedder=EMBEDDER)
    assert set(models) == {"mention_sentiment", "reaction", "intent"}
    assert (tmp_path / L.ARTIFACT_DIR / "intent" / "weights.npz").exists()
    assert models["intent"].predict("what is it about?")[0] in L.INTENT_LABELS
    assert L.load_all(tmp_path / "missing") == {}


def test_weak_recommend_label_needs_a_new_suggestion_after_a_turn_naming_no_movie():
    from recommender.engine.dialogues import Dialogue, DialogueTurn

    turns = [DialogueTurn("user", "hello there"), DialogueTurn("assistant", "hi! what are you in the mood for?"),
             DialogueTurn("user", "something funny for tonight"), DialogueTurn("assistant", "Try Up (2009)", ["333"]),
             DialogueTurn("user", "ok, I will watch it tonight"), DialogueTurn("assistant", "that is all I know")]
    dialogue = Dialogue("7", turns, {"333": "Up (2009)"})
    labels = {e.text: e.label for e in L.intent_examples_from_dialogue(dialogue)}
    assert labels == {"hello there": "chitchat", "something funny for tonight": "recommend",
                      "ok, I will watch it tonight": "feedback"}


# -- the learned readings in the serving path ----------------------------------------------------------
REPLIES = {"accepts": ["I will check it out", "sounds fun, I will watch it tonight", "adding it to my list"],
           "rejects": ["no thanks, not my kind of film", "nah, that does not appeal", "no, I would rather not"],
           "seen": ["already watched it years ago", "watched it last week", "I have watched that already"]}


def _reaction_model():
    examples = [L.Example(text=t, label=label, context=f"How about {L.ITEM}?", group=f"{label}{k}")
                for label, texts in REPLIES.items() for k, t in enumerate(texts)]
    return L.fit_reaction(examples, embedder=EMBEDDER, seed=0, l2=1e-4)


def test_a_confident_learned_reaction_replaces_the_rules_reading():
    from recommender.engine.types import ItemRecord
    from recommender.engine.understanding import CatalogIndex, read_dialogue
    from recommender.engine.understanding.learned_reading import LearnedReading

    films = CatalogIndex([ItemRecord(f"f{k}", f"{title} ({1990 + k})", "movie",
                                     attributes={"genres": ["Drama"], "year": 1990 + k})
                          for k, title in enumerate(["Heat", "Alien", "Arrival", "Cars"])])
    reading = LearnedReading(reaction=_reaction_model(), min_confidence=0.4)
    dialogue = [{"role": "user", "content": "I want a film"}, {"role": "assistant", "content": "How about Arrival (1992)?"},
                {"role": "user", "content": "nah, that does not appeal to me"}]
    rules_only, _ = read_dialogue(dialogue, films)
    state, last = read_dialogue(dialogue, films, learned=reading)
    assert rules_only.reactions() == {"f2": ""}  # the rules hear no reaction in these words
    assert state.reactions() == {"f2": "disliked"} and "f2" in state.profile().disliked
    assert last.intent == "recommend"
    state, _ = read_dialogue([*dialogue[:2], {"role": "user", "content": "already watched it years ago"}], films,
                             learned=reading)
    assert state.reactions() == {"f2": "seen"} and "f2" not in state.profile().disliked
    # An unsure model leaves the rules' reading alone.
    unsure = LearnedReading(reaction=reading.reaction, min_confidence=1.01)
    state, _ = read_dialogue(dialogue, films, learned=unsure)
    assert state.reactions() == {"f2": ""}


def test_macro_f1_and_balanced_weights_follow_their_definitions():
    gold = ["liked", "liked", "disliked", "liked", "seen"]
    pred = ["liked", "disliked", "disliked", "liked", "liked"]
    # liked: tp 2, fp 1, fn 1 -> 0.667; disliked: tp 1, fp 1 -> 0.667; seen: never predicted -> 0; absent "x" -> 0
    assert L.macro_f1(gold, pred, ("liked", "disliked", "seen")) == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert L.macro_f1(gold, pred, ("liked", "disliked", "seen", "x")) == pytest.approx((2 / 3 + 2 / 3) / 4)
    y = np.array([0, 0, 0, 1])
    weights = L.class_weights(y, 3, balanced=True)
    assert weights[:3].sum() == pytest.approx(weights[3])  # each class present weighs the same in all
    assert L.class_weights(y, 3, balanced=False).tolist() == [1.0] * 4
