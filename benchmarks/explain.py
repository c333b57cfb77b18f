"""Explanation benchmark: faithfulness, evidence fidelity, latency and fallback rates per backend.

Run: python -m benchmarks.explain --data-dir ../shared/data [--users 100] [--llm llamacpp|openai|none]
     [--llm-items 40] [--no-redial] [--no-docs]
Part A explains the hybrid engine's top picks for MovieLens 100K users, and runs turns in which users name three
favourites; part B explains picks for the requests in the project's dev conversations over the sample catalog,
resolves their references to listed items and runs every dev conversation through the chat's turn pipeline;
part C runs turns over ml-latest-small with the co-mention model from the ReDial training dialogues mixed in.
An audit counts what a person must never read in any of them (FLAWS). Figures are printed and written to
docs/benchmarks.md between the explain markers.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, add_data_dir, data_root, percentile, sample_likes, write_section
from recommender.engine import rules
from recommender.engine.catalog import Catalog
from recommender.engine.conversation import ServingCatalog, TurnInput, collect
from recommender.engine.data import InteractionData, load_ml100k, random_split
from recommender.engine.embedding import make_embedder
from recommender.engine.explain import (
    FallbackCounter,
    check_explanation,
    cited_in_text,
    evidence_coverage,
    evidence_titles,
    explain_text,
    paraphrase,
    resolve_followup,
    shown_evidence,
)
from recommender.engine.explain.cited import HISTORY_KINDS, cited_evidence, lowers_score
from recommender.engine.explain.lexicon import zh_forms
from recommender.engine.llm import FakeBackend, LLMError, get_backend
from recommender.engine.rankers import HybridRanker
from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import build_hybrid, merged_config
from recommender.engine.types import Constraints, Evidence, ItemRecord, Profile, ScoredItem
from recommender.engine.understanding import ConversationState

DEV_SET = REPO / "tests" / "data" / "understanding_dev.jsonl"
NOTES = (
    "Reading the figures: whenever an LLM text fails a check the template is shown instead, and the template passes "
    "its own checks on every item above, so what users see is 100 % faithful by this checker. The embedded Gemma 3 "
    "270M base model passes often only because its prompt shows two examples built from the same facts with invented "
    "titles: it mostly copies that shape, drops facts (lower fidelity than the template) and sometimes repeats or "
    "invents titles, which the checker rejects. The checker is lexical: it verifies titles, attribute words, years, "
    "decades and popularity, likeness and exploration words, not every relation a sentence implies. The dev set has "
    "no \u201cwhy\u201d turns, so follow-up resolution is measured on its turns that refer to a listed or named item."
)
CORRUPTIONS = ("clean", "unrelated title", "invented genre", "markup", "link", "wrong year")


@dataclass
class Tally:
    """Per-backend figures for one part of the benchmark."""

    shown: int = 0
    shown_ok: int = 0
    raw: int = 0
    raw_ok: int = 0
    not_asked: int = 0  # the LLM was not asked: cited history below like level is worded by the template
    seconds: list[float] = field(default_factory=list)
    coverage: list[float] = field(default_factory=list)

    def add(self, shown_ok: bool, seconds: float, coverage: float, raw_ok: bool | None = None,
            asked: bool = True) -> None:
        self.shown += 1
        self.not_asked += int(not asked)
        self.shown_ok += int(shown_ok)
        self.seconds.append(seconds)
        self.coverage.append(coverage)
        if raw_ok is not None:
            self.raw += 1
            self.raw_ok += int(raw_ok)


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f} % ({a}/{b})" if b else "n/a"


def _ms(values: list[float], q: float) -> str:
    """Return the q-quantile (0-1) of seconds in ms by benchmarks.common's one percentile definition."""
    return f"{1000.0 * percentile(values, q * 100):.2f}" if values else "n/a"


# ---------------------------------------------------------------- engine


class _MemoEmbedder:
    """The sentence embedder with a cache: each request text is embedded once, not on every explain call."""

    def __init__(self) -> None:
        self.inner = make_embedder({"kind": "sentence"})
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) > 8:
            return self.inner.encode(texts)
        missing = [t for t in texts if t not in self.cache]
        if missing:
            for text, row in zip(missing, self.inner.encode(missing)):
                self.cache[text] = row
        return np.stack([self.cache[t] for t in texts]) if texts else self.inner.encode(texts)

    def config(self) -> dict:
        return self.inner.config()


def _hybrid(data: InteractionData, seed: int) -> HybridRanker:
    """Return the engine's default hybrid fitted on data, its fusion weights learned on a validation split."""
    hybrid = build_hybrid(merged_config({"seed": seed}), embedder=_MemoEmbedder())
    return hybrid.fit_with_validation(data, protocol="random", seed=seed)


def _record(catalog: Catalog, item_id: str) -> ItemRecord:
    return catalog.records[catalog.item_index[item_id]]


# ---------------------------------------------------------------- scripted corruptions (checker recall)


def _corrupt(kind: str, text: str, item: ItemRecord, catalog: Catalog, rng: random.Random, language: str) -> str:
    """Return the template text damaged in one known way (a scripted stand-in for a misbehaving model)."""
    zh = language == "zh"
    if kind == "unrelated title":
        other = catalog.records[rng.randrange(catalog.n_items)]
        while other.item_id == item.item_id:
            other = catalog.records[rng.randrange(catalog.n_items)]
        name = rules.natural_title(other.title, with_year=False)
        return text + (f"你也会喜欢《{name}》。" if zh else f" Fans of {name} will agree.")
    if kind == "invented genre":
        have = {str(g).casefold() for g in item.attributes.get("genres", [])}
        missing = [g for g in ("Horror", "Comedy", "Western", "Musical", "War", "Documentary") if g.casefold() not in have]
        genre = missing[rng.randrange(len(missing))]
        zh_names = {"Horror": "恐怖", "Comedy": "喜剧", "Western": "西部", "Musical": "歌舞", "War": "战争",
                    "Documentary": "纪录"}
        return text + (f"这是一部{zh_names[genre]}片。" if zh else f" It is a {genre.lower()} film.")
    if kind == "markup":
        return f"<b>{text}</b>"
    if kind == "link":
        return text + (" 详情见 www.example.com" if zh else " More at www.example.com")
    if kind == "wrong year":
        return text + ("它在1962年上映。" if zh else " It came out in 1962.")
    return text


# ---------------------------------------------------------------- what a person must never read

FLAWS = ("repeated titles", "catalog-form titles", "shares over 100 %", "internal labels", "contradictions",
         "non-Chinese text in Chinese")
# A title in a catalog's form: an article after a comma, where the title (or its alternative name) ends.
_CATALOG_FORM = re.compile(r",\s(?:" + "|".join(re.escape(a) for a in rules.MOVED_ARTICLES) + r")(?=\s*[()》;；,.。:]|\s*$)")
# Engine words: evidence kinds and other snake_case names, raw attribute keys that are not words people use
# ("genres:", "color:"), the filter on the domain, the popularity penalty.
_INTERNAL = re.compile(r"\b[a-z]+_[a-z_]+\b|\bdomain\b|\bpenalty\b|\b(?:genres|color)\s*:")
_PERCENT = re.compile(r"(\d+)\s*%")
_LATIN = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# One letter joined to a Chinese character is part of a Chinese word ("T恤", "K歌").
_LETTER_IN_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z](?=[\u3400-\u9fff])")
_CLAIMS = ("claims popularity", "claims a likeness")


class Audit:
    """Counts, per part and language, of explained items and replies that show a person one of FLAWS."""

    def __init__(self, records) -> None:
        self.items = {"en": 0, "zh": 0}
        self.replies = {"en": 0, "zh": 0}
        self.found = {(f, lang): 0 for f in FLAWS for lang in ("en", "zh")}
        self.examples: dict[str, list[str]] = {f: [] for f in FLAWS}
        self.kept_names: set[str] = set()  # Latin words kept in Chinese text: values with no Chinese name
        self.untranslatable = _untranslatable_words(records)
        # Titles that open with an article and a comma as people write them ("I, Robot"): not a catalog form.
        self.comma_titles = sorted({t for t in (rules.natural_title(r.title, with_year=False) for r in records)
                                    if _CATALOG_FORM.search(", " + t.split(",", 1)[0] + ",")}, key=len, reverse=True)

    def _flag(self, flaw: str, language: str, hit: bool, text: str) -> None:
        if hit:
            self.found[(flaw, language)] += 1
            if len(self.examples[flaw]) < 3:
                self.examples[flaw].append(f"{language}: {text[:160]}")

    def _common(self, lines: list[str], language: str, repeated: bool) -> None:
        joined = " | ".join(lines)
        self._flag("repeated titles", language, repeated, joined)
        self._flag("catalog-form titles", language, any(_CATALOG_FORM.search(self._without_comma_titles(t))
                                                        for t in lines), joined)
        self._flag("internal labels", language, any(_INTERNAL.search(t) for t in lines), joined)
        if language == "zh":
            self._flag("non-Chinese text in Chinese", language, bool(self._latin(lines)), joined)

    def _without_comma_titles(self, text: str) -> str:
        for title in self.comma_titles:
            text = text.replace(title, "")
        return text

    def _latin(self, lines: list[str]) -> list[str]:
        words = [w for t in lines for w in _LATIN.findall(_LETTER_IN_WORD.sub("", re.sub(r"《[^》]*》", "", t)))]
        kept = [w for w in words if w.casefold() in self.untranslatable]
        self.kept_names.update(kept)
        return [w for w in words if w.casefold() not in self.untranslatable]

    def explanation(self, text: str, item: ItemRecord, evidence: list, shown: list[dict], language: str,
                    catalog) -> None:
        """Audit one explained item: its text and the evidence lines shown beside it."""
        self.items[language] += 1
        lines = [text] + [e["text"] for e in shown]
        problems = check_explanation(text, item, evidence, catalog, language=language)
        repeated = "names the same title twice" in problems or _repeats(shown)
        self._common(lines, language, repeated)
        shares = [e["share"] for e in shown] + [int(p) / 100 for e in shown for p in _PERCENT.findall(e["text"])]
        self._flag("shares over 100 %", language, any(x > 1.0 + 1e-9 or x < 0 for x in shares), " | ".join(lines))
        lowered = any(lowers_score(_fact(e)) for e in shown)
        contradicts = lowered or any(p.startswith(_CLAIMS) for p in problems)
        self._flag("contradictions", language, contradicts, " | ".join(lines))

    def reply(self, text: str, chips: list[str], titles: list[str], language: str) -> None:
        """Audit one reply and its chips; titles are the display titles the reply names."""
        self.replies[language] += 1
        quoted = re.findall(r"《([^》]*)》", text)
        repeated = len(quoted) != len(set(quoted)) or any(text.count(t) > 1 for t in set(titles) if len(t) > 3)
        self._common([text, *chips], language, repeated)


def _untranslatable_words(records) -> set[str]:
    """Return the words of attribute values that have no Chinese name (brands, "IMAX") and the Latin words of the
    catalog's own Chinese descriptions ("FBI探员"): kept as written."""
    out: set[str] = set()
    for record in records:
        for sentence in re.split(r"(?<=[.!?。！？])\s*", getattr(record, "description", "") or ""):
            if re.search(r"[\u4e00-\u9fff]", sentence):
                out.update(w.casefold() for w in _LATIN.findall(sentence))
        for raw in record.attributes.values():
            for value in raw if isinstance(raw, (list, tuple)) else [raw]:
                if isinstance(value, str) and value.strip() and not zh_forms(value):
                    out.update(w.casefold() for w in _LATIN.findall(value))
    return out


def _repeats(shown: list[dict]) -> bool:
    titles = [e["title"] for e in shown if e["kind"] in ("liked_item", "history_item", "content_similarity") and e["title"]]
    return len(titles) != len(set(titles))


def _fact(shown: dict) -> Evidence:
    return Evidence(kind=shown["kind"], weight=shown["share"], item_id=shown.get("item_id"),
                    detail=shown.get("detail") or "")


def audit_rows(audits: dict[str, Audit]) -> list[str]:
    """Return the audit table: one row per part and language, every flaw counted (all must be 0)."""
    rows = ["| part | language | explained items | replies | " + " | ".join(FLAWS) + " |",
            "|---|---|---|---|" + "---|" * len(FLAWS)]
    for part, audit in audits.items():
        for lang in ("en", "zh"):
            counts = [str(audit.found[(f, lang)]) if f != FLAWS[-1] or lang == "zh" else "—" for f in FLAWS]
            rows.append(f"| {part} | {lang} | {audit.items[lang]} | {audit.replies[lang]} | {' | '.join(counts)} |")
    return rows


# ---------------------------------------------------------------- one explanation, every backend


class Runner:
    """Explains items with the template, the scripted fake and a real LLM backend, tallying per backend."""

    def __init__(self, llm, llm_budget: int, seed: int) -> None:
        self.llm = llm
        self.llm_budget = llm_budget
        self.rng = random.Random(seed)
        self.counter = FallbackCounter()
        self.tallies: dict[str, Tally] = {}
        self.caught: dict[str, list[int]] = {k: [0, 0] for k in CORRUPTIONS}
        self.samples: list[tuple[str, str, str, str]] = []
        self.audit: Audit | None = None  # set per part, with the records its titles are shown from
        self.records: dict[str, ItemRecord] = {}

    def tally(self, name: str) -> Tally:
        return self.tallies.setdefault(name, Tally())

    def explain(self, item: ItemRecord, scored: ScoredItem, catalog: Catalog, language: str,
                use_llm: bool) -> None:
        evidence = scored.evidence
        titles = evidence_titles(evidence, catalog, language)

        start = time.perf_counter()
        text = explain_text(item, evidence, language=language, catalog_titles=titles)
        problems = check_explanation(text, item, evidence, catalog, language=language)
        seconds = time.perf_counter() - start
        self.tally("template").add(not problems, seconds, self.coverage(scored, text, catalog, language))
        if problems:
            self.samples.append(("template REJECTED", language, text, "; ".join(problems)))
        if self.audit is not None:
            self.audit.explanation(text, item, evidence, shown_evidence(evidence, self.records, language), language,
                                   catalog)

        kind = CORRUPTIONS[self.rng.randrange(len(CORRUPTIONS))]
        reply = _corrupt(kind, text, item, catalog, self.rng, language)
        result = paraphrase(item, evidence, language=language, backend=FakeBackend(default=reply, chunk_size=64),
                            catalog=catalog, catalog_titles=titles, counter=self.counter, max_tokens=200)
        if result.backend:  # only replies the checker saw count for its recall
            self.caught[kind][0] += int(bool(result.failures))
            self.caught[kind][1] += 1
        self._shown("fake", result, item, scored, catalog, language)

        if use_llm and self.llm is not None and self.llm_budget > 0:
            self.llm_budget -= 1
            result = paraphrase(item, evidence, language=language, backend=self.llm, catalog=catalog,
                                catalog_titles=titles, counter=self.counter)
            self._shown(self.llm.name, result, item, scored, catalog, language)
            if len(self.samples) < 40 and result.backend:
                self.samples.append((f"{self.llm.name} {result.source}", language, result.raw.strip(),
                                     "; ".join(result.failures) or "ok"))

    @staticmethod
    def coverage(scored: ScoredItem, text: str, catalog: Catalog, language: str) -> float:
        """Return the share of the item's score carried by the evidence the shown text actually cites."""
        return evidence_coverage(scored, cited_in_text(text, scored.evidence, catalog, language=language))

    def _shown(self, name, result, item, scored, catalog, language) -> None:
        shown_ok = not check_explanation(result.text, item, scored.evidence, catalog, language=language)
        asked = bool(result.backend)
        self.tally(name).add(shown_ok, result.seconds, self.coverage(scored, result.text, catalog, language),
                             raw_ok=not result.failures if asked else None, asked=asked)


# ---------------------------------------------------------------- the chat's turn pipeline, audited


def _converse(texts: list[str], serving: ServingCatalog, bundle: RecommenderBundle, audit: Audit, k: int) -> None:
    """Run one conversation's turns through the chat's pipeline; audit every reply, chip, explanation and fact."""
    state: ConversationState = ConversationState()
    shown: list[dict] = []
    for text in texts:
        plan = collect(TurnInput(text=text, catalog=serving, state=state, shown=shown, bundle=bundle, k=k))
        language = "zh" if plan.language == "zh" else "en"
        named = [rules.display_title(serving.records[f["item_id"]], language) for f in plan.feedback]
        audit.reply(plan.reply, plan.suggestions, named, language)
        for scored in plan.items:
            done = plan.explained.get(scored.item_id)
            if done is not None:
                facts = shown_evidence(scored.evidence, serving.records, language)
                audit.explanation(done.text, serving.records[scored.item_id], scored.evidence, facts, language,
                                  serving.records)


def _favourites_text(titles: list[str], language: str) -> str:
    if language == "zh":
        return "我很喜欢" + "、".join(f"《{t}》" for t in titles[:-1]) + f"和《{titles[-1]}》，还有什么推荐？"
    return f"I love {', '.join(titles[:-1])} and {titles[-1]}. What else should I watch?"


def movielens_conversations(catalog: Catalog, bundle: RecommenderBundle, explicit, column_ids: dict[int, str],
                            users, audit: Audit, top: int) -> int:
    """Each chosen user names three films they rated 4 or more, in English or Chinese by turns; return turns run."""
    records = {r.item_id: r for r in catalog.records}
    counts = np.asarray(explicit.getnnz(axis=0))
    serving = ServingCatalog.build(records, {column_ids[j]: float(c) for j, c in enumerate(counts) if c})
    turns = 0
    for n, u in enumerate(users):
        language = "zh" if n % 2 else "en"
        row = explicit.getrow(int(u))
        loved = [column_ids[int(j)] for j, v in sorted(zip(row.indices, row.data), key=lambda p: -p[1]) if v >= 4][:3]
        if len(loved) < 3:
            continue
        titles = [rules.display_title(records[i], language) for i in loved]
        _converse([_favourites_text(titles, language)], serving, bundle, audit, top)
        turns += 1
    return turns


# ---------------------------------------------------------------- part A: MovieLens 100K


def _ml_catalog_with_aliases(data: InteractionData) -> None:
    """Attach the sample's Chinese film titles to the MovieLens records, matched by exact title."""
    try:
        from recommender.sample_data import load_movie_aliases
    except ImportError:
        return
    aliases = load_movie_aliases()
    for key, record in list(data.items.items()):
        extra = aliases.get(record.title)
        if extra:
            data.items[key] = ItemRecord(record.item_id, record.title, record.domain, record.description,
                                         tuple(extra), record.attributes)


def part_movielens(data_dir: Path, runner: Runner, users: int, top: int, llm_items: int, seed: int) -> dict:
    t0 = time.perf_counter()
    data = load_ml100k(data_dir / "ml-100k")
    _ml_catalog_with_aliases(data)
    split = random_split(data, 0.2, seed)
    hybrid = _hybrid(split.train, seed)
    catalog = hybrid.catalog
    fit_s = time.perf_counter() - t0
    explicit = split.train.explicit()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(catalog.n_users, size=min(users, catalog.n_users), replace=False)
    evidence_s: list[float] = []
    history_cited, liked_cited, liked_rated_high = 0, 0, 0
    done = 0
    bundle = RecommenderBundle(hybrid)
    runner.records = {r.item_id: r for r in catalog.records}
    runner.audit = Audit(catalog.records)
    for n, u in enumerate(chosen):
        user = catalog.user_ids[int(u)]
        language = "zh" if n % 2 else "en"
        picks = bundle.recommend(user_key=user, n=top, with_evidence=False)
        start = time.perf_counter()
        found = bundle.evidence_for([s.item_id for s in picks], user_key=user)  # as the chat asks for it
        evidence_s += [(time.perf_counter() - start) / max(len(picks), 1)] * len(picks)
        for scored in picks:
            scored.evidence = found[scored.item_id]
            item = _record(catalog, scored.item_id)
            for ev in cited_evidence(scored.evidence):
                if ev.kind in HISTORY_KINDS:
                    history_cited += 1
                if ev.kind == "liked_item":
                    liked_cited += 1
                    liked_rated_high += int(explicit[int(u), split.train.item_index[ev.item_id]] >= 4)
            # The LLM sees a spread of users: the first pick of each user until its budget is spent.
            runner.explain(item, scored, catalog, language, use_llm=done % top == 0 and llm_items > 0)
            done += 1
    talk = Audit(catalog.records)
    column_ids = {v: k for k, v in split.train.item_index.items()}
    turns = movielens_conversations(catalog, bundle, explicit, column_ids, chosen, talk, top)
    return {"users": len(chosen), "explanations": done, "fit_s": fit_s, "weights": hybrid.weights, "seed": seed,
            "evidence_s": evidence_s, "history_cited": history_cited, "liked_cited": liked_cited,
            "liked_rated_high": liked_rated_high, "audit": runner.audit, "talk": talk, "turns": turns}


# ---------------------------------------------------------------- part B: dev conversations


DOMAIN_OF = {"movies": "movie", "products": "product"}


def _sample_engine(seed: int) -> tuple[Catalog, HybridRanker]:
    from recommender.sample_data import load_catalog

    records = load_catalog()
    users, items, _ = sample_likes()
    hybrid = _hybrid(InteractionData(users, items, items=records), seed)
    return hybrid.catalog, hybrid


def _merge(into: dict, new: dict | None) -> None:
    for key, values in (new or {}).items():
        into[key] = values


def part_dev(runner: Runner, top: int, llm_items: int, seed: int) -> dict:
    if not DEV_SET.exists():
        return {"missing": True}
    catalog, hybrid = _sample_engine(seed)
    bundle = RecommenderBundle(hybrid)
    runner.records = {r.item_id: r for r in catalog.records}
    runner.audit = Audit(catalog.records)
    rng = random.Random(seed)
    explained, evidence_s = 0, []
    refs = {"en": [0, 0], "zh": [0, 0]}
    title_refs = {"en": [0, 0], "zh": [0, 0]}
    misses: list[str] = []
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        convo = json.loads(line)
        include, exclude, ranges = {}, {}, {}
        liked, disliked = [], []
        for turn in convo["turns"]:
            gold, text = turn["gold"], turn["text"]
            language = gold.get("language", "en")
            _merge(include, gold.get("include"))
            _merge(exclude, gold.get("exclude"))
            _merge(ranges, gold.get("ranges"))
            items = [it["item_id"] for it in gold.get("items", [])]
            liked += [it["item_id"] for it in gold.get("items", []) if it.get("sentiment") == "liked"]
            disliked += [it["item_id"] for it in gold.get("items", []) if it.get("sentiment") == "disliked"]
            # References to a listed item: by position when the turn lists items, else by title.
            if items and gold.get("intent") in ("ask_info", "feedback"):
                listed_ids = turn.get("last_items")
                bucket = refs if listed_ids else title_refs
                if not listed_ids:
                    pool = [i for i in catalog.item_ids if i != items[0] and i[:2] == items[0][:2]]
                    listed_ids = rng.sample(pool, 4)
                    listed_ids.insert(rng.randrange(5), items[0])
                listed = [_record(catalog, i) if i in catalog.item_index else ItemRecord(i, i) for i in listed_ids]
                got = resolve_followup(text, listed, language)
                bucket[language][1] += 1
                if got is not None and got.item_id in items:
                    bucket[language][0] += 1
                else:
                    misses.append(f"{text} -> {got.item_id if got else None} (gold {items[0]})")
            if gold.get("intent") != "recommend":
                continue
            constraints = Constraints(include=dict(include), exclude=dict(exclude),
                                      ranges={k: tuple(v) for k, v in ranges.items()},
                                      domain=gold.get("domain") or DOMAIN_OF.get(convo.get("catalog")))
            profile = Profile(liked=[i for i in liked if i in catalog.item_index],
                              disliked=[i for i in disliked if i in catalog.item_index], query_text=text)
            picks = bundle.recommend(profile=profile, n=top, constraints=constraints, with_evidence=False)
            start = time.perf_counter()
            # The chat's path: the items' evidence with the constraints each satisfies, in one call.
            found = bundle.evidence_for([s.item_id for s in picks], profile=profile, constraints=constraints)
            evidence_s += [(time.perf_counter() - start) / max(len(picks), 1)] * len(picks)
            for scored in picks:
                scored.evidence = found[scored.item_id]
                idx = catalog.item_index[scored.item_id]
                runner.explain(catalog.records[idx], scored, catalog, language,
                               use_llm=explained % top == 0 and llm_items > 0)
                explained += 1
    talk = dev_conversations(catalog, bundle, top)
    return {"explanations": explained, "evidence_s": evidence_s, "refs": refs, "title_refs": title_refs,
            "audit": runner.audit, "talk": talk,
            "misses": misses, "weights": hybrid.weights}


def dev_conversations(catalog: Catalog, bundle: RecommenderBundle, top: int) -> Audit:
    """Run every dev conversation, turn by turn, through the chat's pipeline; return the audit of what it showed."""
    audit = Audit(catalog.records)
    serving = ServingCatalog.build({r.item_id: r for r in catalog.records})
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            _converse([turn["text"] for turn in json.loads(line)["turns"]], serving, bundle, audit, top)
    return audit


# ---------------------------------------------------------------- part C: the conversation mix with ReDial


# Films a person may name: well known, several filed with a moved article or an alternative title.
FAVOURITES = ("Heat (1995)", "Godfather, The (1972)", "Casablanca (1942)", "Matrix, The (1999)", "Titanic (1997)",
              "Toy Story (1995)", "Pulp Fiction (1994)", "Shawshank Redemption, The (1994)", "Inception (2010)",
              "Dark Knight, The (2008)", "Forrest Gump (1994)", "Alien (1979)", "Jurassic Park (1993)",
              "Fargo (1996)", "Silence of the Lambs, The (1991)", "Big Lebowski, The (1998)", "Notebook, The (2004)",
              "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "Lion King, The (1994)",
              "Back to the Future (1985)")


def part_redial(data_dir: Path, top: int) -> dict:
    """Turns over ml-latest-small with the co-mention model from the ReDial training dialogues mixed in (the mix
    the chat serves once dialogues are imported; EASE and popularity as in the conversations benchmark)."""
    import tempfile

    from benchmarks import conversations

    if not (data_dir / "redial").exists() or not (data_dir / "ml-latest-small").exists():
        return {"missing": True}
    setup = conversations.load_setup(data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        bundle, serving = conversations.pipeline_bundle(setup, Path(tmp) / "v1")
    audit = Audit(setup.catalog.records)
    by_title = {r.title: r for r in setup.catalog.records}
    for title in FAVOURITES:
        record = by_title.get(title)
        for language in ("en", "zh") if record is not None else ():
            name = rules.display_title(record, language)
            first = f"I loved {name}. Something like it?" if language == "en" else f"我很喜欢《{name}》，推荐类似的"
            _converse([first, "any other suggestions?" if language == "en" else "还有别的吗？"], serving, bundle,
                      audit, top)
    return {"audit": audit}


# ---------------------------------------------------------------- report


def _table(runner: Runner, llm_name: str | None) -> list[str]:
    rows = ["| backend | shown | faithful when shown | raw LLM text passing the checker | fallback rate | "
            "latency p50 / p95 (ms) | mean evidence fidelity |", "|---|---|---|---|---|---|---|"]
    snap = runner.counter.snapshot()
    for name in ("template", "fake", llm_name):
        t = runner.tallies.get(name) if name else None
        if t is None:
            continue
        fb = snap.get(name)
        fallback = _pct(fb["fallbacks"], fb["tried"]) if fb else "— (no LLM)"
        raw = _pct(t.raw_ok, t.raw) if t.raw else "—"
        if t.not_asked:
            raw += f"; not asked for {t.not_asked}"
        label = {"fake": "fake (scripted: template text, 5 in 6 corrupted)",
                 "template": "template"}.get(name, f"{name} (Gemma 3 270M base, embedded)" if name == "llamacpp" else name)
        rows.append(f"| {label} | {t.shown} | {_pct(t.shown_ok, t.shown)} | {raw} | {fallback} | "
                    f"{_ms(t.seconds, 0.5)} / {_ms(t.seconds, 0.95)} | {statistics.fmean(t.coverage):.3f} |")
    return rows


def report(a: dict, b: dict, c: dict, runners: dict[str, Runner], llm_name: str | None, llm_error: str | None,
           command: str) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    out = ["## Explanations", "", f"Command: `{command}` (2 CPU cores shared with other work, load average "
           f"{load} at the end of the run; LLM on CPU, so its latencies here are far above an idle machine's).", ""]
    out += [
        "Every shown explanation is checked: each title it names must be the item or an item in its evidence "
        "(titles and aliases matched against the catalog), each attribute word (genre, colour, category, year, "
        "decade) must belong to the item, popularity, likeness and exploration claims need matching evidence, and "
        "markup, links and instructions are rejected. *Faithful when shown* is the share of shown texts that pass; "
        "*raw LLM* is the share of the model's own texts that pass before any fallback (the LLM is not asked when "
        "a cited history item was rated below 4: only the template words such items); *evidence fidelity* is the "
        "share of the item's score carried by the evidence the shown text actually names or claims (positive shares; "
        "the ranker returns its top-5 facts). Latency is the text path (generation and checking), not the ranking.", ""]
    rA = runners["A"]
    out += [f"### A. MovieLens 100K ({a['users']} users, top {a['explanations'] // max(a['users'], 1)} each, "
            f"{a['explanations']} items; half the users in English, half in Chinese)", ""]
    out += [f"Engine: the default hybrid (`recommender.engine.training.DEFAULT_CONFIG`: EASE, EASE on likes, RP3beta, "
            f"item-kNN, MF, popularity, MiniLM content) fitted through the engine API on a per-user random 80/20 split "
            f"(seed {a['seed']}), weights learned on validation: "
            f"{', '.join(f'{k} {v:g}' for k, v in a['weights'].items())}; fit {a['fit_s']:.1f} s. "
            f"Evidence extraction (`RecommenderBundle.evidence_for`, the chat's path: one call per user's "
            f"list) p50 / p95: {_ms(a['evidence_s'], 0.5)} / {_ms(a['evidence_s'], 0.95)} ms per item.", ""]
    out += _table(rA, llm_name)
    out += ["", f"History items the texts cite: {a['history_cited']}; called liked: "
            f"{_pct(a['liked_cited'], a['history_cited'])}, of which the user rated 4 or 5: "
            f"{_pct(a['liked_rated_high'], a['liked_cited'])}. The engine grades each history item (liked: a rating of "
            "4 or more; otherwise history), so only liked items are called liked and the others are named as the "
            "user's history.", ""]
    out += _checker_recall(rA)
    if b.get("missing"):
        out += ["", "### B. Dev conversations", "", "`tests/data/understanding_dev.jsonl` is not present; skipped."]
    else:
        rB = runners["B"]
        out += ["", f"### B. Dev conversations (`tests/data/understanding_dev.jsonl`, sample catalog, "
                f"{b['explanations']} explained picks for its recommend turns)", ""]
        out += ["Engine: the same hybrid fitted on the sample's synthetic interactions (clicks, likes, purchases, "
                "ratings ≥ 4), each turn's text as the query, the conversation's gold constraints as hard filters, "
                "and the constraints each pick satisfies appended as evidence. Weights: "
                f"{', '.join(f'{k} {v:g}' for k, v in b['weights'].items())}.", ""]
        out += _table(rB, llm_name)
        out += [""]
        out += _checker_recall(rB)
        ref, tref = b["refs"], b["title_refs"]
        out += ["", "References to a listed item in the dev turns (`resolve_followup`): by position ",
                f"(\u201cthe second one\u201d, \u201c第二个\u201d) English {_pct(*ref['en'])}, Chinese {_pct(*ref['zh'])}; "
                f"by title among five listed items (the gold item placed at random) English {_pct(*tref['en'])}, "
                f"Chinese {_pct(*tref['zh'])}."]
        if b["misses"]:
            out += ["", "Misses: " + "; ".join(f"`{m}`" for m in b["misses"][:8])]
    out += _audit_section(a, b, c)
    out += ["", NOTES]
    if llm_error:
        out += ["", f"LLM backend unavailable: {llm_error}"]
    samples = [s for r in runners.values() for s in [x for x in r.samples if x[0].startswith(llm_name or "-")][:4]]
    if samples:
        out += ["", "Sample raw LLM outputs (what the checker saw):", ""]
        out += [f"- {lang} {src}: \u201c{text[:140]}\u201d → {why[:160]}" for src, lang, text, why in samples]
    return "\n".join(out) + "\n"


def _audit_section(a: dict, b: dict, c: dict) -> list[str]:
    """Return the audit of what people read: every count must be 0."""
    audits = {"A. ML-100K picks": a["audit"], f"A. ML-100K, {a['turns']} turns naming three favourites": a["talk"]}
    if not b.get("missing"):
        audits |= {"B. dev picks": b["audit"], "B. dev conversations, every turn": b["talk"]}
    if c.get("audit") is not None:
        audits |= {"C. ml-latest-small + ReDial co-mention, two turns from each of 20 favourites": c["audit"]}
    items = sum(x.items[lang] for x in audits.values() for lang in ("en", "zh"))
    replies = sum(x.replies[lang] for x in audits.values() for lang in ("en", "zh"))
    out = ["", f"### What a person reads ({items} explained items, {replies} replies)", "",
           "Each explained item's text and the evidence lines shown beside it (`explain.shown_evidence`), and in the "
           "turns each reply with its chips, are searched for: a title named twice; a title in a catalog's form "
           "(\u201cGodfather, The\u201d: an article after a comma where a title ends); a share above 100 %; "
           "engine words (evidence kinds, snake_case names, raw attribute keys, the domain filter, the popularity "
           "penalty); contradictions (a popularity or likeness claim the evidence does not back, or a fact shown "
           "that lowered the score); Latin-script words in Chinese text outside 《》 titles. The *picks* rows are the "
           "template over the parts above; the other rows run the chat's own turn pipeline "
           "(`conversation.collect`): A and B over the same models, C over ml-latest-small with EASE, popularity "
           "and the co-mention model fitted on the ReDial training dialogues (the conversation mix), where one "
           "film is often cited by two models. Every count must be 0.", ""]
    out += audit_rows(audits)
    kept = sorted({w for x in audits.values() for w in x.kept_names})
    if kept:
        out += ["", "Latin words kept in Chinese text because the catalog value has no Chinese name: "
                + ", ".join(kept[:12]) + "."]
    for flaw in FLAWS:
        shown = [e for x in audits.values() for e in x.examples[flaw]][:3]
        if shown:
            out += ["", f"Found ({flaw}): " + "; ".join(f"`{e}`" for e in shown)]
    return out


def _checker_recall(runner: Runner) -> list[str]:
    parts = [f"{k} {_pct(*v)}" for k, v in runner.caught.items() if k != "clean"]
    clean = runner.caught["clean"]
    return [f"Checker on the scripted fake replies — rejected: {', '.join(parts)}; clean replies wrongly "
            f"rejected: {_pct(*clean)}."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser, "folder holding ml-100k/")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--llm", default="llamacpp", help="LLM backend to measure (llamacpp, openai, none)")
    parser.add_argument("--llm-items", type=int, default=40, help="LLM explanations per part (CPU time bound)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--no-redial", action="store_true", help="skip part C (ml-latest-small with ReDial)")
    args = parser.parse_args(argv)

    llm, llm_error = None, None
    if args.llm != "none" and args.llm_items > 0:
        try:
            llm = get_backend({"backend": args.llm})
            if hasattr(llm, "load"):
                llm.load()
        except LLMError as exc:
            llm, llm_error = None, str(exc)
    runners = {"A": Runner(llm, args.llm_items, args.seed), "B": Runner(llm, args.llm_items // 2, args.seed)}
    a = part_movielens(data_root(args.data_dir), runners["A"], args.users, args.top, args.llm_items, args.seed)
    b = part_dev(runners["B"], 3, args.llm_items // 2, args.seed)
    c = part_redial(data_root(args.data_dir), 10) if not args.no_redial else {"missing": True}
    command = "python -m benchmarks.explain --data-dir ../shared/data" + (
        f" --users {args.users}" if args.users != 100 else "") + (
        f" --llm-items {args.llm_items}" if args.llm_items != 40 else "")
    section = report(a, b, c, runners, llm.name if llm else None, llm_error, command)
    print(section)
    for name, runner in runners.items():
        print(f"fallbacks part {name}:", json.dumps(runner.counter.snapshot(), ensure_ascii=False), file=sys.stderr)
    if not args.no_docs:
        write_section("explain", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
