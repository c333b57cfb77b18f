"""Learned readings in the serving path: the reaction to a suggestion (and, when a version carries one, opinions).

A model version trained with recorded dialogues carries the reaction classifier of `learned.py`
(`<version>/understanding/reaction/`). When it does, `LearnedReading.refine` revises what the rules read from one
person's message before the state takes it in: the reaction to the one item the assistant just suggested (accepts /
rejects / seen). A version may also carry a mention-sentiment model (liked vs disliked for an item named with an
opinion); training leaves it out by default, as it cost recall on the ReDial development split. The rules stay the
fallback: no model, an unsure model (probability below `min_confidence`), a reply to several suggestions at once, or
a message that is small talk keep the rules' reading. See docs/dialogue.md.
"""
from __future__ import annotations

import functools
from pathlib import Path

from .catalog import CatalogIndex
from .learned import ARTIFACT_DIR, MentionSentimentModel, ReactionModel, load_all
from .result import ItemRef, Understanding
from .state import ConversationState

# The learned reaction labels in the state's words.
REACTION_IN_STATE = {"accepts": "accepted", "rejects": "rejected", "seen": "seen"}
NAMED_VIA = ("title", "alias", "fuzzy")  # refs the person typed (not "it" or "the second one")
MIN_CONFIDENCE = 0.6
CACHE_SIZE = 4096  # a replayed dialogue asks about the same messages again on every turn


class LearnedReading:
    """The learned classifiers the understanding layer consults; either may be missing."""

    def __init__(self, sentiment: MentionSentimentModel | None = None, reaction: ReactionModel | None = None,
                 min_confidence: float = MIN_CONFIDENCE) -> None:
        self.sentiment = sentiment
        self.reaction = reaction
        self.min_confidence = min_confidence
        self._reaction = functools.lru_cache(maxsize=CACHE_SIZE)(self._predict_reaction)
        self._sentiment = functools.lru_cache(maxsize=CACHE_SIZE)(self._predict_sentiment)

    @classmethod
    def load(cls, model_dir: Path | str) -> LearnedReading | None:
        """Return the readings a model version carries, or None when it has neither."""
        if not (Path(model_dir) / ARTIFACT_DIR).is_dir():
            return None
        models = load_all(model_dir)
        sentiment, reaction = models.get("mention_sentiment"), models.get("reaction")
        if sentiment is None and reaction is None:
            return None
        return cls(sentiment=sentiment, reaction=reaction)  # type: ignore[arg-type]

    def _predict_reaction(self, reply: str, suggestion: str, title: str) -> tuple[str, float]:
        assert self.reaction is not None
        return self.reaction.predict(reply, suggestion, item_title=title)

    def _predict_sentiment(self, text: str, context: str, title: str, others: tuple[str, ...]) -> tuple[str, float]:
        assert self.sentiment is not None
        return self.sentiment.predict(text, context, item_title=title, other_titles=others)

    def refine(self, u: Understanding, text: str, state: ConversationState, catalog: CatalogIndex) -> None:
        """Revise u (what the rules read from `text`, said in `state`) where a model is confident."""
        if u.intent == "chitchat":
            return
        self._refine_reaction(u, text, state, catalog)
        self._refine_sentiments(u, text, state, catalog)

    def _refine_reaction(self, u: Understanding, text: str, state: ConversationState, catalog: CatalogIndex) -> None:
        # The model learned replies to a message introducing exactly one item, which the reply may not name again.
        focus = state.focus_item
        if self.reaction is None or not state.awaiting_reaction or len(state.last_items) != 1 or focus is None:
            return
        if any(ref.item_id != focus for ref in u.referenced_items):
            return
        title = catalog.title_of(focus)
        label, probability = self._reaction(text, state.assistant_text, title)
        if probability < self.min_confidence:
            return
        ref = next((r for r in u.referenced_items if r.item_id == focus), None)
        if ref is None:
            ref = ItemRef(focus, title, via="context")
            u.referenced_items.append(ref)
        ref.reaction = REACTION_IN_STATE[label]
        if label == "rejects":
            ref.sentiment = "disliked"
        elif label == "accepts" and ref.sentiment == "disliked":
            ref.sentiment = "neutral"  # will try it: whatever the rules heard, it is not a dislike

    def _refine_sentiments(self, u: Understanding, text: str, state: ConversationState,
                           catalog: CatalogIndex) -> None:
        # Only opinions the rules heard are revised: a name in a question stays neutral.
        if self.sentiment is None:
            return
        named = [r for r in u.referenced_items if r.via in NAMED_VIA and r.sentiment in ("liked", "disliked")]
        titles = {r.item_id: catalog.title_of(r.item_id) for r in u.referenced_items}
        for ref in named:
            others = tuple(sorted(t for i, t in titles.items() if i != ref.item_id and t))
            label, probability = self._sentiment(text, state.assistant_text, titles[ref.item_id], others)
            if probability >= self.min_confidence:
                ref.sentiment = label
