"""One conversational turn as a pure pipeline: typed input in, typed stages out; no Django, no I/O, no settings.

The caller (the chat service) reads what a turn needs (the dialogue state, the person's stored history, the
serving catalog, the model bundle, the strategy the bandit chose, the LLM backend) into a `TurnInput`, then
drives the turn in three stages so a client can be shown each part as soon as it exists:

    turn = ConversationTurn(inp)
    started = turn.understand()        # intent, language, understanding          (fast)
    plan = turn.plan()                 # reply text, ranked items without evidence (fast)
    for explained in turn.explanations(stopped):   # evidence, then one explanation per item
        ...

`collect(inp)` runs all three and returns the finished `TurnPlan`. The dialogue state in the input is
updated in place (what the turn asked for, the list shown), so the caller stores it after the turn.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from . import bandit, replies, rules, social
from . import explain as explain_pkg
from .catalog import Catalog
from .embedding import dialogue_text
from .llm.base import LLMBackend
from .llm.rerank import RERANK_POOL, rerank_with_llm
from .llm.turn import LLMAssist, LLMSteps, TurnBudget, written_reply
from .types import Constraints, Evidence, ItemRecord, Profile, ScoredItem
from .understanding import (
    CatalogIndex,
    ConversationState,
    Understanding,
    apply_assistant,
    apply_soft_preferences,
    read_dialogue,
    understand,
)

if TYPE_CHECKING:
    from .serving import RecommenderBundle
    from .understanding.learned_reading import LearnedReading

log = logging.getLogger(__name__)

_WHY = re.compile(r"\bwhy\b|为什么|为何|理由", re.I)


def is_why_question(text: str) -> bool:
    """Return whether the message asks why something was recommended."""
    return bool(_WHY.search(text))


# ---------------------------------------------------------------- inputs


@dataclass
class ServingCatalog:
    """What the pipeline knows about items: records, exact constraint masks, the understanding index, popularity.

    `popularity` counts interactions per item (rules.is_interaction): the ranking served before any model is
    trained, and the understanding layer's tie-breaker.
    """

    records: Mapping[str, ItemRecord]
    constraints: Catalog
    index: CatalogIndex
    popularity: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, records: Mapping[str, ItemRecord], popularity: Mapping[str, float] | None = None
              ) -> ServingCatalog:
        """Return the serving catalog over records (the constraint catalog holds items only, no users)."""
        values = list(records.values())
        constraints = Catalog(values, [], sp.csr_matrix((0, len(values)), dtype=np.float32))
        popularity = dict(popularity or {})
        return cls(records=records, constraints=constraints, index=CatalogIndex(values, popularity=popularity),
                   popularity=popularity)

    def satisfying(self, constraints: Constraints, ids: list[str]) -> list[str]:
        """Return the ids that meet every hard constraint exactly (rankers are checked, not trusted)."""
        mask = self.constraints.constraint_mask(constraints)
        if mask is None:  # nothing to check
            return [i for i in ids if i in self.records]
        index = self.constraints.item_index
        return [i for i in ids if i in index and mask[index[i]]]

    def count(self, constraints: Constraints) -> int:
        """Return how many items meet the constraints' attribute, range and domain filters."""
        mask = self.constraints.constraint_mask(constraints)
        return len(self.records) if mask is None else int(np.count_nonzero(mask))

    def relaxation(self, constraints: Constraints) -> tuple[Constraints, int] | None:
        """Return (the one filter to loosen, how many items its removal lets through), or None when no single
        filter is to blame. Used to tell the person which condition to loosen when nothing matches.

        A range (year, price) is offered before the kind of item: someone asking for "a western from the
        2000s" or "a dress under 20" would rather widen the years or the price than get another kind of thing.
        Within each group, the filter whose removal lets the most items through.
        """
        ranges = [Constraints(ranges={attr: bounds}) for attr, bounds in constraints.ranges.items()]
        kinds = [Constraints(include={attr: list(values)}, all_of=[attr] if attr in constraints.all_of else [])
                 for attr, values in constraints.include.items()]
        kinds += [Constraints(exclude={attr: list(values)}) for attr, values in constraints.exclude.items()]
        return self._loosest(constraints, ranges) or self._loosest(constraints, kinds)

    def _loosest(self, constraints: Constraints, options: list[Constraints]) -> tuple[Constraints, int] | None:
        best: tuple[Constraints, int] | None = None
        for part in options:
            rest = Constraints(
                include={k: v for k, v in constraints.include.items() if part.include.get(k) != v},
                exclude={k: v for k, v in constraints.exclude.items() if part.exclude.get(k) != v},
                ranges={k: v for k, v in constraints.ranges.items() if part.ranges.get(k) != v},
                domain=constraints.domain, all_of=list(constraints.all_of))
            n = self.count(rest)
            if n and (best is None or n > best[1]):
                best = (part, n)
        return best


@dataclass
class TurnInput:
    """Everything one turn reads. `state` and `shown` are the conversation's; the turn updates them."""

    text: str
    state: ConversationState
    catalog: ServingCatalog
    history: Profile = field(default_factory=Profile)  # the person's stored feedback (presses, ratings, imports)
    # Items the person named in other conversations (likes and dislikes read from their words): kept off the list,
    # never a reason for one; they stay with the conversation they were said in.
    named_elsewhere: list[str] = field(default_factory=list)
    shown: list[dict] = field(default_factory=list)  # the last list: [{"item_id", "evidence": [dict]}]
    bundle: RecommenderBundle | None = None  # the serving bundle, or None before the first training
    strategy: str = bandit.DEFAULT_STRATEGY
    user_key: str | None = None
    backend: LLMBackend | None = None  # an enabled LLM backend, or None
    k: int = rules.DEFAULT_K
    llm: LLMSteps = field(default_factory=LLMSteps)  # which optional LLM steps run, within one budget (llm/turn.py)
    dialogue: list[dict] = field(default_factory=list)  # earlier messages, {"role", "content"}, for the LLM reading
    learned: LearnedReading | None = None  # learned readings of replies, or None: the rules alone
    # The person's connections, privacy-filtered (social.SocialContext, or a callable returning one, read only by a
    # social request), or None: not signed in.
    social: Any = None
    # The caller asks for a list whatever the words ask (the REST recommend call): a question about an item or
    # small talk is answered, and the list the conversation supports so far follows the answer (a question about
    # people, "who shares my taste?", gets no list beside its answer).
    always_list: bool = False


# ---------------------------------------------------------------- outputs


@dataclass
class Understood:
    """The first stage: what the turn asks for."""

    intent: str
    language: str
    understanding: dict


@dataclass
class ItemExplanation:
    """Why one item is listed: the text, the evidence it was built from, and "template" or "llm"."""

    item_id: str
    text: str
    evidence: list[dict]
    source: str = "template"


@dataclass
class TurnPlan:
    """The second stage: the reply and the ranked items (evidence arrives with `ConversationTurn.explanations`)."""

    intent: str
    language: str
    understanding: dict
    reply: str = ""
    items: list[ScoredItem] = field(default_factory=list)
    strategy: str = ""
    suggestions: list[str] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)  # likes/dislikes stated in words: {"item_id", "kind"}
    followup: ItemExplanation | None = None  # the answer to "why that one?"
    explained: dict[str, ItemExplanation] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # "followup", "about", "rerank": what the turn did, for storing
    timings: dict = field(default_factory=dict)
    stopped: bool = False
    listing: bool = False  # the turn ranks items (recommend, feedback), even when none qualify
    written: Any = None  # an LLM-written reply streamed in place of `reply` (llm.reply.WrittenReply), or None

    def item_entries(self) -> list[dict]:
        """Return the listed items as stored: id, score, evidence, per-ranker sources, explanation and its source."""
        out = []
        for s in self.items:
            entry = {"item_id": s.item_id, "score": s.score, "evidence": [e.to_dict() for e in s.evidence],
                     "sources": dict(s.sources), "explanation": ""}
            done = self.explained.get(s.item_id)
            if done is not None:
                entry["explanation"], entry["explanation_source"] = done.text, done.source
            out.append(entry)
        return out


# ---------------------------------------------------------------- pieces


def merged_profile(state: ConversationState, stored: Profile) -> Profile:
    """Return conversation preferences merged over stored history (the conversation wins on conflicts)."""
    talk = state.profile()
    disliked = list(dict.fromkeys([*talk.disliked, *[i for i in stored.disliked if i not in talk.liked]]))
    liked = list(dict.fromkeys([*talk.liked, *[i for i in stored.liked if i not in disliked]]))
    history = {k: v for k, v in stored.history.items() if k not in liked and k not in disliked}
    # Items the person named without saying they liked them ("I've seen X", "what about Y?") still say
    # something about their taste, as items merely interacted with do.
    for item_id, sentiment in state.mentions.items():
        if sentiment != "disliked" and item_id not in liked and item_id not in disliked:
            history[item_id] = max(history.get(item_id, 0.0), rules.NEUTRAL_WEIGHT)
    return Profile(liked=liked, disliked=disliked, history=history, query_text=talk.query_text,
                   prefer=talk.prefer, avoid=talk.avoid, exclude=talk.exclude, alike=talk.alike,
                   suggested=talk.suggested, examples=[i for i in talk.examples if i not in stored.liked])


def topic_profile(person: Profile, state: ConversationState, stored: Profile, records: Mapping[str, ItemRecord],
                  domain: str | None, keep: list[str] | tuple[str, ...] = ()) -> Profile:
    """Return the person's profile without the conversation's own items (named or suggested in it, not pressed or
    rated) of another domain than the one asked for: films liked earlier in the talk do not pick or explain games.
    `keep` holds items the turn names as seeds on purpose ("games for someone who loves The Matrix")."""
    if not domain:
        return person
    pressed = set(stored.liked) | set(stored.disliked) | set(stored.history)
    talked = (set(state.liked) | set(state.mentions) | set(state.suggested_ids())) - pressed - set(keep)
    other = {i for i in talked if i in records and records[i].domain != domain}
    if not other:
        return person
    return replace(person, liked=[i for i in person.liked if i not in other],
                   history={i: w for i, w in person.history.items() if i not in other})


def popular_items(catalog: ServingCatalog, *, constraints: Constraints, profile: Profile, n: int,
                  keywords: list[str] | tuple[str, ...] = ()) -> list[ScoredItem]:
    """Return the n most popular items that satisfy the constraints, skipping items the person already met.

    Served before the first model is trained (or when it fails); words of the request found in an item's
    text lift it, one point per word.
    """
    if not catalog.records:
        return []
    records = catalog.constraints.records
    counts = catalog.popularity
    mask = catalog.constraints.constraint_mask(constraints)
    seen = set(profile.liked) | set(profile.disliked) | set(profile.history)
    words = [w.casefold() for w in keywords if len(w) > 2]
    top = max(counts.values(), default=1) or 1
    scored: list[tuple[float, int]] = []
    for idx, record in enumerate(records):
        if (mask is not None and not mask[idx]) or record.item_id in seen:
            continue
        score = counts.get(record.item_id, 0) / top
        if words:
            text = record.text().casefold()
            score += sum(1.0 for w in words if w in text)
        scored.append((score, idx))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    out = []
    for score, idx in scored[:n]:
        record = records[idx]
        evidence = [Evidence(kind="popularity", weight=1.0, item_id=record.item_id,
                             detail=f"{int(counts.get(record.item_id, 0))} positive events")]
        for attribute, value in catalog.constraints.satisfied(constraints, idx):
            if attribute == "domain":  # the kind of item asked for, not a reason to pick this one
                continue
            evidence.append(Evidence(kind="constraint", weight=0.0, attribute=attribute, value=value))
        out.append(ScoredItem(item_id=record.item_id, score=float(score), evidence=evidence,
                              sources={"popularity": float(score)}))
    return out


def explain_item(record: ItemRecord, evidence: list[Evidence], records: Mapping[str, ItemRecord], language: str,
                 summary: str = "", backend: Any = None) -> tuple[str, str]:
    """Return (text, source) explaining an item from its evidence only; source is "template" or "llm".

    With a backend, the LLM paraphrases and the checker vets it (template text when it fails).
    """
    titles = {e.item_id: rules.display_title(records[e.item_id], language)
              for e in evidence if e.item_id and e.item_id in records}
    try:
        if backend is not None:
            result = explain_pkg.paraphrase(record, evidence, language=language, backend=backend, catalog=records,
                                            catalog_titles=titles)
            return result.text, result.source
        return explain_pkg.explain_text(record, evidence, language=language, request_summary=summary,
                                        catalog_titles=titles), "template"
    except Exception:  # noqa: BLE001 - a reason that claims nothing is better than a failed turn
        log.exception("explanation failed; using a generic reason")
    return replies.generic_explanation(language), "template"


def refs_of(u: Understanding) -> list[dict]:
    """Return the understanding's referenced items as plain dicts."""
    return [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in getattr(u, "referenced_items", None) or []]


def stated_feedback(refs: list[dict]) -> list[dict]:
    """Return the likes and dislikes the person stated about catalog items ("I loved Fargo")."""
    out = []
    for ref in refs:
        kind = {"liked": "like", "disliked": "dislike"}.get(str(ref.get("sentiment")))
        if kind and ref.get("item_id"):
            out.append({"item_id": str(ref["item_id"]), "kind": kind})
    return out


def context_from_messages(messages: list[dict], catalog: ServingCatalog, backend: Any = None,
                          language: str = "en", learned: Any = None) -> ConversationState:
    """Return the dialogue state built from earlier messages, the person's and the assistant's alike.

    messages are {"role": "user" | "assistant", "content": str}; what the assistant suggested, and how the
    person reacted to it, shape the state as much as the person's own requests (see docs/dialogue.md).
    """
    state = ConversationState()
    state.language = language
    state, _ = read_dialogue(messages, catalog.index, backend=backend, state=state, learned=learned)
    return state


# ---------------------------------------------------------------- the turn


class ConversationTurn:
    """One turn, in stages: understand -> plan (reply, ranked items) -> explanations (evidence, texts)."""

    def __init__(self, inp: TurnInput, *, clock: Callable[[], float] = time.perf_counter):
        self.inp = inp
        self.clock = clock
        self.started = clock()
        self._u: Understanding | None = None
        self._result: TurnPlan | None = None
        self._fill: Callable[[list[ScoredItem]], None] = _evidence_is_there
        self._summary = ""
        self._planned = False
        self._assist = LLMAssist()
        self.budget = TurnBudget.start(inp.llm.budget_s)  # the LLM's, shared by the steps before the list

    @property
    def u(self) -> Understanding:
        """The understanding of the message (the first stage runs when it has not yet)."""
        if self._u is None:
            self.understand()
        assert self._u is not None
        return self._u

    @property
    def result(self) -> TurnPlan:
        """The turn's plan as far as it has got (the first stage runs when it has not yet)."""
        if self._result is None:
            self.understand()
        assert self._result is not None
        return self._result

    def mark(self, stage: str) -> None:
        """Record the milliseconds since the turn started at a stage."""
        self.result.timings[stage] = round((self.clock() - self.started) * 1000, 1)

    # ------------------------------------------------------------ stage 1

    def understand(self) -> Understood:
        """Return what the turn asks for, in the context of the conversation so far (understood once)."""
        if self._result is not None:
            return Understood(self._result.intent, self._result.language, self._result.understanding)
        inp = self.inp
        u = self._u = understand(inp.text, state=inp.state, catalog=inp.catalog.index, backend=inp.backend,
                                 learned=inp.learned, llm_deadline=self.budget.deadline)
        language = rules.language_of(getattr(u, "language", "en"))
        intent = rules.known_intent(getattr(u, "intent", rules.RECOMMEND))
        self._result = TurnPlan(intent=intent, language=language, understanding=u.to_dict())
        self.mark("understood")
        return Understood(intent=intent, language=language, understanding=self._result.understanding)

    # ------------------------------------------------------------ stage 2

    def plan(self) -> TurnPlan:
        """Return the reply and the ranked items; the dialogue state takes in what the turn asked for."""
        if self._planned:  # the dialogue state takes in a turn once
            return self.result
        inp, u, plan = self.inp, self.u, self.result
        self._planned = True
        records = inp.catalog.records
        followup = self._followup() if is_why_question(inp.text) else None
        if followup is None:  # a "why?" question is not feedback on the item it names
            inp.state.apply(u)
            self._assist = LLMAssist.start(inp, plan, self.budget)
        if followup is not None:
            title, body = rules.display_title(records[followup.item_id], plan.language), followup.text
            plan.intent, plan.followup = rules.ASK_INFO, followup
            plan.reply = f"《{title}》：{body}" if plan.language == "zh" else f"{title}: {body}"
            plan.extra["followup"] = followup.item_id
            plan.suggestions = replies.suggestions(None, False, plan.language)
        elif plan.intent == rules.CHITCHAT:
            plan.reply = replies.chitchat_reply(inp.text, plan.language)
            plan.written = written_reply(inp, plan, None)
            plan.suggestions = replies.suggestions(None, False, plan.language)
        elif plan.intent == rules.SOCIAL:
            constraints = social.social_constraints(self._constraints(), u)
            social.answer(inp, plan, getattr(u, "social", None), self._person(constraints), constraints)
        elif plan.intent == rules.ASK_INFO:
            record = self._referenced_record()
            plan.reply = replies.ask_info_reply(record, getattr(u, "ask_field", None), plan.language)
            plan.extra["about"] = record.item_id if record else None
            plan.written = written_reply(inp, plan, record)
            plan.suggestions = replies.suggestions(None, False, plan.language)
        else:
            self._recommend()
        if inp.always_list and not plan.listing and plan.intent in (rules.CHITCHAT, rules.ASK_INFO):
            self._list_after_answer()  # a social answer (who shares my taste) is about people: no list beside it
        if self._assist.report:
            plan.extra["llm"] = self._assist.report
        return plan

    def _list_after_answer(self) -> None:
        """Add the conversation's list to a turn that answered something else; the answer stays first."""
        plan = self.result
        intent, answer = plan.intent, plan.reply
        self._recommend()
        plan.intent = intent
        plan.reply = f"{answer} {plan.reply}".strip() if plan.items else answer

    def _followup(self) -> ItemExplanation | None:
        """Return the answer to "why that one?" from the evidence stored when the list was shown, or None."""
        inp, language = self.inp, self.result.language
        records = inp.catalog.records
        shown = [s for s in inp.shown if s.get("item_id") in records]
        if not shown:
            return None
        try:
            record = explain_pkg.resolve_followup(inp.text, [records[s["item_id"]] for s in shown], language)
        except Exception:  # noqa: BLE001 - an unresolved question is answered as a new request
            log.exception("follow-up resolution failed")
            return None
        if record is None:
            return None
        entry = next(s for s in shown if s["item_id"] == record.item_id)
        evidence = list(entry.get("evidence", []))
        body, _ = explain_item(record, [Evidence(**e) for e in evidence], records, language)
        return ItemExplanation(item_id=record.item_id, text=body, evidence=evidence, source="template")

    def _referenced_record(self) -> ItemRecord | None:
        """Return the item a factual question is about: a title in the text, else a position in the last list."""
        records = self.inp.catalog.records
        for ref in refs_of(self.u):
            if ref.get("item_id") in records:
                return records[ref["item_id"]]
        shown = [records[s["item_id"]] for s in self.inp.shown if s.get("item_id") in records]
        return explain_pkg.resolve_followup(self.inp.text, shown, self.result.language) if shown else None

    def _recommend(self) -> None:
        inp, u, plan = self.inp, self.u, self.result
        records, language = inp.catalog.records, plan.language
        plan.listing = True
        # A maker's works stand in for "something like Radiohead": the person said nothing of them.
        named = refs_of(u)
        makers = list(dict.fromkeys(r["maker"] for r in named if r.get("via") == "maker"))
        refs = [r for r in named if r.get("via") != "maker"]
        # "I loved Fargo, something similar" states a like as much as "I loved Fargo" does.
        plan.feedback = [f for f in stated_feedback(refs) if f["item_id"] in records]
        if plan.feedback:
            plan.extra["feedback"] = plan.feedback
        unknown = list(getattr(u, "unknown_titles", []) or [])
        asked = inp.state.constraints()
        if unknown and not refs and not (asked.domain or asked.include or asked.ranges) and len(
                {r.domain for r in records.values()}) > 1:
            # A title the catalog lacks says nothing of the kind of item wanted: a list across every domain
            # (shirts for "like The Matrix") would be a guess, so ask which item was meant.
            plan.reply = replies.unknown_title_question(unknown, language)
            plan.suggestions = replies.suggestions(None, False, language)
            return
        constraints = self._constraints()
        person = self._person(constraints)
        scored = self._rank(constraints, person)
        scored = self._assist.add_candidates(scored, inp, constraints, person)
        self.mark("ranked")
        if self._reranking():
            scored, plan.extra["rerank"] = rerank_with_llm(scored, records, inp.text, inp.backend, inp.k)
            self.mark("reranked")
        plan.items = scored[:inp.k]
        # "Something like The Matrix" gives an example rather than a taste: the reply names it, notes no like.
        stated = [r for r in refs if not r.get("implied")]
        examples = replies.named_titles([r for r in refs if r.get("implied")], "liked", records, language)
        examples = [f"《{t}》" for t in examples] if language == "zh" else examples
        self._summary = replies.request_summary(inp.state.constraints().to_dict(), language, like=makers + examples)
        plan.extra["asked"] = replies.asked_attributes(inp.state.include, inp.state.prefer)  # what cards show first
        domain = getattr(u, "domain", None) or (records[plan.items[0].item_id].domain if plan.items else None)
        liked = replies.named_titles(stated, "liked", records, language)
        disliked = replies.named_titles(refs, "disliked", records, language)
        if (liked or disliked) and plan.items:  # a taste statement is acknowledged, then answered with a list
            plan.reply = replies.feedback_reply(liked, disliked, language)
        elif not plan.items and (relax := inp.catalog.relaxation(inp.state.constraints())) is not None:
            loosen = replies.request_summary(relax[0].to_dict(), language)
            plan.reply = replies.relax_reply(self._summary, loosen, relax[1], language)
            plan.extra["relax"] = relax[0].to_dict()
            inp.state.offer_relax(plan.extra["relax"])  # "yes" / "drop it" / "好的" next turn loosens it
        else:
            plan.reply = replies.recommend_reply(len(plan.items), self._summary, domain, language)
        if inp.state.changed.get("loosened"):
            dropped = replies.request_summary(inp.state.changed["loosened"], language)
            plan.reply = replies.loosened_note(dropped, language) + plan.reply
        if getattr(u, "unpriced", False):
            plan.reply = replies.unpriced_note(language) + plan.reply
        # Say so when a named title is not in the catalog, rather than silently ranking without it.
        plan.reply = replies.unknown_titles_note(list(getattr(u, "unknown_titles", []) or []), language) + plan.reply
        plan.suggestions = replies.suggestions(domain, bool(plan.items), language)

    def _rank(self, constraints: Constraints, person: Profile) -> list[ScoredItem]:
        """Return the candidates that satisfy the constraints, best first (evidence added later).

        The model ranks without evidence so the list can be shown at once; the bandit's strategy reweights
        the candidates. Without a model (or when it fails) popularity serves. Earlier suggestions the person
        did not turn down fill the end of a list that new items cannot fill ("no horror" after a list of
        action films shows the same films again rather than nothing).
        """
        inp = self.inp
        pool = max(inp.k, RERANK_POOL) if self._reranking() else inp.k
        scored = self._candidates(person, constraints, pool)
        reshowable = set(inp.state.reshowable_items()) & set(constraints.exclude_items)
        if len(scored) < pool and reshowable:
            relaxed = replace(constraints, exclude_items=[i for i in constraints.exclude_items if i not in reshowable])
            seen = {s.item_id for s in scored}
            again = [s for s in self._candidates(person, relaxed, pool)
                     if s.item_id in reshowable and s.item_id not in seen]
            scored += again[:pool - len(scored)]
        return scored

    def _reranking(self) -> bool:
        """Return whether the LLM reorders the candidates: switched on for every turn, or the policy's arm."""
        return self.inp.llm.rerank or bandit.reranks(self.inp.strategy)

    def _constraints(self) -> Constraints:
        """Return the conversation's filters, with what the person named in other conversations kept off and,
        when the words ask for no kind of item, the one kind the turn's named items share."""
        constraints = self.inp.state.constraints()
        elsewhere = [i for i in self.inp.named_elsewhere if i not in constraints.exclude_items]
        if elsewhere:
            constraints = replace(constraints, exclude_items=constraints.exclude_items + elsewhere)
        named_domain = self._named_domain()
        # Only a request without filters of its own: "the Interstellar soundtrack" asks for music by its words.
        if named_domain and not (constraints.domain or constraints.include or constraints.all_of):
            constraints = replace(constraints, domain=named_domain)
        return constraints

    def _named_domain(self) -> str | None:
        """Return the one domain of the items this turn names (disliked ones aside), or None: "I love A, B and C"
        about three films asks for films, not for the shirts and games their fans also bought."""
        records = self.inp.catalog.records
        domains = {records[r["item_id"]].domain for r in refs_of(self.u)
                   if r.get("item_id") in records and r.get("sentiment") != "disliked"}
        return domains.pop() if len(domains) == 1 else None

    def _person(self, constraints: Constraints) -> Profile:
        """Return the taste this turn ranks for: the conversation over stored history, in the domain asked for."""
        inp = self.inp
        person = topic_profile(merged_profile(inp.state, inp.history), inp.state, inp.history, inp.catalog.records,
                               constraints.domain, keep=list(getattr(self.u, "source_items", []) or []))
        return replace(person, dialogue_text=dialogue_text([*inp.dialogue, {"role": "user", "content": inp.text}]))

    def _candidates(self, person: Profile, constraints: Constraints, pool: int) -> list[ScoredItem]:
        inp, plan = self.inp, self.result
        scored: list[ScoredItem] = []
        if inp.bundle is not None:
            try:
                scored = inp.bundle.recommend(user_key=inp.user_key, profile=person, constraints=constraints,
                                              n=max(pool, bandit.CANDIDATE_POOL), with_evidence=False)
                scored = self._prefer(scored, person)
                scored = bandit.apply_strategy(scored, inp.strategy, pool, records=inp.catalog.records)
                plan.strategy = inp.strategy
                self._fill = _bundle_filler(inp.bundle, inp.user_key, person, constraints)
            except Exception:  # noqa: BLE001 - fall back to popularity rather than fail the turn
                log.exception("model recommend failed; serving popularity")
                scored = []
        if not scored:
            keywords = list(getattr(self.u, "keywords", []) or [])
            scored = popular_items(inp.catalog, constraints=constraints, profile=person,
                                   n=max(pool, bandit.CANDIDATE_POOL), keywords=keywords)
            scored = self._prefer(scored, person)[:pool]
            plan.strategy, self._fill = "popularity", _evidence_is_there
        allowed = set(inp.catalog.satisfying(constraints, [s.item_id for s in scored]))
        excluded = set(person.disliked) | set(constraints.exclude_items)
        return [s for s in scored if s.item_id in allowed and s.item_id not in excluded]

    def _prefer(self, scored: list[ScoredItem], person: Profile) -> list[ScoredItem]:
        """Return the candidates re-ranked by the soft preferences (free-form tags): a bounded boost, no filter."""
        if not (person.prefer or person.avoid):
            return scored
        return apply_soft_preferences(scored, self.inp.catalog.records, person.prefer, person.avoid)

    # ------------------------------------------------------------ stage 3

    def explanations(self, stopped: Callable[[], bool] = lambda: False) -> Iterator[ItemExplanation]:
        """Yield the explanation of each listed item in order (or the follow-up's one answer).

        Adds the model's evidence to the items first. When `stopped()` turns true the rest are skipped and
        the plan is marked stopped. The dialogue state then remembers the list as shown.
        """
        if not self._planned:
            self.plan()
        plan = self.result
        if plan.followup is not None:
            yield plan.followup
            return
        inp = self.inp
        if not plan.items:
            inp.state.set_last_items([])
            return
        self._fill(plan.items)
        self.mark("evidence")
        backend = inp.backend if inp.llm.explain else None
        for s in plan.items:
            if stopped():
                plan.stopped = True
                break
            text, source = explain_item(inp.catalog.records[s.item_id], s.evidence, inp.catalog.records,
                                        plan.language, self._summary, backend)
            done = ItemExplanation(item_id=s.item_id, text=text, evidence=[e.to_dict() for e in s.evidence],
                                   source=source)
            plan.explained[s.item_id] = done
            yield done
        # The list shown is the assistant's suggestion: the person's next words may react to it.
        apply_assistant(inp.state, plan.reply, inp.catalog.index, item_ids=[s.item_id for s in plan.items])
        inp.shown[:] = [{"item_id": s.item_id, "evidence": [e.to_dict() for e in s.evidence]} for s in plan.items]


def _evidence_is_there(items: list[ScoredItem]) -> None:
    """The popularity ranking carries its evidence from the start."""


def _bundle_filler(bundle, user_key, person, constraints) -> Callable[[list[ScoredItem]], None]:
    """Return a function that adds the model's evidence to the items it ranked (exploration and LLM labels kept)."""
    def fill(items: list[ScoredItem]) -> None:
        try:
            found = bundle.evidence_for([s.item_id for s in items], user_key=user_key, profile=person,
                                        constraints=constraints)
        except Exception:  # noqa: BLE001 - items stay, explanations fall back to their generic text
            log.exception("model evidence failed")
            return
        for s in items:
            kept = [e for e in s.evidence if e.kind in ("exploration", "llm_suggestion")]
            s.evidence = found.get(s.item_id, []) + kept

    return fill


def collect(inp: TurnInput) -> TurnPlan:
    """Run a whole turn and return its finished plan (items with evidence and explanations)."""
    turn = ConversationTurn(inp)
    turn.understand()
    plan = turn.plan()
    for _ in turn.explanations():
        pass
    return plan
