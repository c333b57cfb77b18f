"""Conversational recommendation replayed on recorded ReDial dialogues, against the ml-latest-small catalog.

For every recommender turn that names at least one new movie with a ml-latest-small counterpart, each system
gets the dialogue so far and ranks the catalog; we count recall@1/10/50 of the movies that turn named. Movies
named earlier in the dialogue are removed from the ranking and from the targets (the "dedup" protocol of He et
al. 2023), so repeating the dialogue's own movies earns nothing. Only the development split is replayed
(`dialogues.is_development`: conversationId % 5 == 0); the co-mention models are fitted on the other
dialogues, and the engine mix is tuned on a slice of those (conversationId % 5 == 1), never on dev.

    python -m benchmarks.conversations [--data-dir DIR] [--system] [--limit N] [--no-docs]
    python -m benchmarks.conversations --llm [--limit N] [--llm-budget S]   (the configured CHATREC_LLM_* backend)

`--llm` replays the first N development turns (default 100) through the turn pipeline without and with the
LLM steps (`CHATREC_LLM_READ`, `CHATREC_LLM_CANDIDATES`), using the backend the settings configure.
`--system` adds the system under test: `recommend_for_dialogue`, the same call the REST API makes. It needs a
migrated database with ml-latest-small imported and a trained active model (see `docs/benchmarks.md`).
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from benchmarks.common import cache_dir, data_root
from benchmarks.common import percentile as common_percentile
from recommender.engine.catalog import Catalog
from recommender.engine.data import InteractionData, load_ml_latest
from recommender.engine.dialogues import (
    Dialogue,
    DialogueFormatError,
    SuggestionTurn,
    TitleLinker,
    is_development,
    read_redial,
    suggestion_turns,
    titles_in_text,
)
from recommender.engine.llm.turn import LLMSteps
from recommender.engine.mixing import unit_scaled
from recommender.engine.rankers.comention import CoMentionRanker
from recommender.engine.rankers.scalable import ease_weights as ease_inverse

KS = (1, 10, 50)
TOP = 50
TUNE_REMAINDER = 1  # training dialogues with conversationId % 5 == 1 tune the engine mix
EASE_L2 = 200.0
DIALOGUE_EASE_L2 = 50.0
DIALOGUE_EASE_MIN_COUNT = 3  # items with fewer ratings + dialogues score 0 there (keeps the inverse small)
DIALOGUE_ROW_WEIGHT = 3.0  # a dialogue row counts as much as three raters' rows
SECTION = "conversations"
# The model version the product pipeline is measured with: EASE and popularity fused on validation as in
# training, plus the co-mention model from the training dialogues (what `manage.py train` fits when dialogues are
# imported).
PIPELINE_CONFIG = {"components": {"ease": {"l2": 300.0}, "popularity": {}}, "tune": {}, "rating": None}
# Published anchors on the official ReDial test split, same dedup protocol (He et al. 2023 and later papers).
ANCHORS = [("GPT-4 zero-shot", 0.201, None), ("GPT-3.5 zero-shot", 0.183, None),
           ("UniCRS", 0.180, 0.335), ("ReFICR", 0.213, 0.465)]


# ---------------------------------------------------------------- the metric


def dedup(ranking: Iterable[str], targets: Iterable[str], mentioned: Iterable[str]) -> tuple[list[str], list[str]]:
    """Return (ranking, targets) without the items already mentioned in the dialogue (order kept, no repeats)."""
    drop = set(mentioned)
    ranked = [i for i in dict.fromkeys(ranking) if i not in drop]
    wanted = [t for t in dict.fromkeys(targets) if t not in drop]
    return ranked, wanted


def recall_at(ranking: list[str], targets: list[str], k: int) -> float:
    """Return the share of targets found in the first k of the ranking (0 when there are no targets)."""
    if not targets:
        return 0.0
    return len(set(ranking[:k]) & set(targets)) / len(targets)


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile of values (benchmarks.common's definition), 0 for none."""
    return common_percentile(values, q) or 0.0


# ---------------------------------------------------------------- data


@dataclass
class Setup:
    data: InteractionData
    catalog: Catalog
    linker: TitleLinker
    train: list[Dialogue]
    dev: list[Dialogue]
    links: dict[str, dict[str, str | None]]  # conversation id -> source movie id -> catalog id

    def turns(self, dialogues: list[Dialogue]) -> list[tuple[str, SuggestionTurn]]:
        return [(d.conversation_id, t) for d in dialogues for t in suggestion_turns(d, self.links[d.conversation_id])]


def data_dir(explicit: str | None = None) -> Path:
    return data_root(explicit)


def load_setup(root: Path) -> Setup:
    """Return the catalog, the title linker and the ReDial dialogues split into training and development."""
    data = load_ml_latest(root / "ml-latest-small")
    return link_dialogues(data, root / "redial")


def link_dialogues(data: InteractionData, redial_dir: Path) -> Setup:
    """Return the ReDial dialogues in redial_dir linked by title and year to data's catalog, split into training
    and development (any catalog: the linker reads only titles, years and how often each item was rated)."""
    catalog = Catalog.from_data(data)
    counts = np.asarray(catalog.interactions.getnnz(axis=0), dtype=np.float64)
    popularity = {item_id: float(c) for item_id, c in zip(catalog.item_ids, counts)}
    linker = TitleLinker([(r.item_id, r.title, r.attributes.get("year")) for r in catalog.records], popularity)
    train, dev, links = [], [], {}
    for path in sorted(redial_dir.glob("*.jsonl")):
        for _, dialogue in read_redial(path):
            if isinstance(dialogue, DialogueFormatError):
                continue
            links[dialogue.conversation_id] = {k: linker.link(v) for k, v in dialogue.movies.items()}
            (dev if is_development(dialogue.conversation_id) else train).append(dialogue)
    return Setup(data, catalog, linker, train, dev, links)


def comention_model(setup: Setup, dialogues: list[Dialogue]) -> CoMentionRanker:
    """Return a co-mention model fitted on the suggestion turns of dialogues."""
    pairs = [(t.context, t.suggested) for _, t in setup.turns(dialogues)]
    return CoMentionRanker().fit_pairs(pairs, setup.catalog)


# ---------------------------------------------------------------- scorers over the catalog


class Scorers:
    """Score vectors over the catalog for a dialogue's named items (a dict item id -> weight)."""

    def __init__(self, setup: Setup, comention: CoMentionRanker, dialogues: list[Dialogue], cache: Path | None = None):
        self.setup, self.comention = setup, comention
        counts = np.asarray(setup.catalog.interactions.getnnz(axis=0), dtype=np.float32)
        self.popularity = counts / max(float(counts.max()), 1.0)
        self.log_popularity = np.log1p(counts) / max(float(np.log1p(counts.max())), 1.0)
        # EASE on the ratings alone (the baseline), and on the ratings plus each training dialogue as a bag of
        # the movies it names (what the engine mix uses: it learns which films come up in the same dialogue).
        self.year_prior = year_prior(setup.catalog, comention)
        self.W = ease_weights(setup.catalog, None, EASE_L2, cache)
        self.W_dialogue = ease_weights(setup.catalog, dialogue_rows(setup, dialogues), DIALOGUE_EASE_L2, cache,
                                       min_count=DIALOGUE_EASE_MIN_COUNT)

    def vector(self, named: dict[str, float]) -> sp.csr_matrix:
        return named_vector(self.setup.catalog, named)

    def ease(self, named: dict[str, float], model: Ease | None = None) -> np.ndarray:
        return (model or self.W).score(self.vector({k: 1.0 for k in named}))

    def co_mention(self, named: dict[str, float]) -> np.ndarray:
        """The co-mention ranker's score (links plus its own small prior)."""
        return self.comention._score_rows(self.vector(named))[0]

    def parts(self, named: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Return (co-mention links without the prior, dialogue EASE), each scaled to unit maximum."""
        links = np.asarray((self.vector(named) @ self.comention.S).todense()).ravel()
        return unit_scaled(links), unit_scaled(self.ease(named, self.W_dialogue))


def named_vector(catalog: Catalog, named: dict[str, float]) -> sp.csr_matrix:
    """Return one row over the catalog holding the named items' weights (ids the catalog lacks left out)."""
    index = catalog.item_index
    cols = [index[i] for i in named if i in index]
    vals = [float(named[i]) for i in named if i in index]
    return sp.csr_matrix((vals, ([0] * len(cols), cols)), shape=(1, catalog.n_items), dtype=np.float32)


def year_prior(catalog: Catalog, comention: CoMentionRanker) -> np.ndarray:
    """Return, per item, how often films of its release year were suggested in the fitted dialogues (the
    recommenders' taste for recent films), relative to the most-suggested year."""
    years = np.array([int((r.attributes or {}).get("year") or 0) for r in catalog.records])
    by_year = np.bincount(years, weights=comention.counts.astype(np.float64), minlength=years.max(initial=0) + 1)
    by_year[0] = 0.0
    share = by_year[years]
    return (share / max(float(share.max(initial=0.0)), 1.0)).astype(np.float32)


def dialogue_rows(setup: Setup, dialogues: list[Dialogue]) -> sp.csr_matrix:
    """Return one row per dialogue over the catalog: DIALOGUE_ROW_WEIGHT for each linked movie it names."""
    rows, cols = [], []
    for r, d in enumerate(dialogues):
        for item in {v for v in setup.links[d.conversation_id].values() if v}:
            rows.append(r)
            cols.append(setup.catalog.item_index[item])
    return sp.csr_matrix((np.full(len(rows), DIALOGUE_ROW_WEIGHT, dtype=np.float32), (rows, cols)),
                         shape=(len(dialogues), setup.catalog.n_items))


class Ease:
    """EASE item-item weights over the items with at least min_count interactions (the rest score 0)."""

    def __init__(self, cols: np.ndarray, W: np.ndarray, n_items: int):
        self.cols, self.W, self.n_items = cols, W, n_items

    def score(self, x: sp.csr_matrix) -> np.ndarray:
        out = np.zeros(self.n_items, dtype=np.float32)
        out[self.cols] = np.asarray(x[:, self.cols] @ self.W).ravel()
        return out


def ease_weights(catalog: Catalog, extra: sp.csr_matrix | None, l2: float, cache: Path | None,
                 min_count: int = 0) -> Ease:
    """Return EASE over the catalog's interactions plus extra rows (cached by content and settings)."""
    X = catalog.interactions if extra is None else sp.vstack([catalog.interactions, extra]).tocsr()
    cols = np.flatnonzero(X.getnnz(axis=0) >= min_count)
    digest = hashlib.sha1(np.concatenate([X.indptr, X.indices]).tobytes() + X.data.tobytes()).hexdigest()[:12]
    path = cache / f"ease_{catalog.n_items}_{int(l2)}_{min_count}_{digest}.npy" if cache else None
    if path is not None and path.exists():
        return Ease(cols, np.load(path, allow_pickle=False), catalog.n_items)
    Xs = X[:, cols]
    W = ease_inverse((Xs.T @ Xs).toarray().astype(np.float32), l2)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, W)
    return Ease(cols, W, catalog.n_items)


@dataclass
class Mix:
    """Weights of the engine mix; the co-mention links weigh 1."""

    ease: float = 1.0
    prior: float = 0.5
    popularity: float = 0.0
    year: float = 0.0

    def combine(self, links: np.ndarray, ease: np.ndarray, scorers: Scorers) -> np.ndarray:
        return (links + self.ease * ease + self.prior * scorers.comention.prior
                + self.popularity * scorers.log_popularity + self.year * scorers.year_prior)

    def scores(self, scorers: Scorers, named: dict[str, float]) -> np.ndarray:
        return self.combine(*scorers.parts(named), scorers)


def top_ids(catalog: Catalog, scores: np.ndarray, exclude: Iterable[str], n: int = TOP) -> list[str]:
    """Return the ids of the n best-scoring items, skipping excluded ones."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    for item_id in exclude:
        idx = catalog.item_index.get(item_id)
        if idx is not None:
            scores[idx] = -np.inf
    n = min(n, scores.shape[0])
    top = np.argpartition(-scores, n - 1)[:n]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [catalog.item_ids[i] for i in top if np.isfinite(scores[i])]


# ---------------------------------------------------------------- the engine-only system (text in, ids out)


class TextNamedItems:
    """The movies a message names, read from its text only (no dataset ids): "Title (year)" phrases through the
    title linker, then whatever else the understanding layer grounds (titles written without a year)."""

    def __init__(self, catalog: Catalog, popularity: dict[str, float], linker: TitleLinker):
        from recommender.engine.understanding import CatalogIndex

        self.index = CatalogIndex(catalog.records, popularity)
        self.linker = linker
        self._cached = functools.lru_cache(maxsize=200_000)(self._named)

    def _named(self, text: str) -> tuple[tuple[str, str], ...]:
        from recommender.engine.understanding import understand

        u = understand(text, catalog=self.index)
        sentiment = {r.item_id: r.sentiment for r in u.referenced_items}
        ids = titles_in_text(text, self.linker)
        ids += [r.item_id for r in u.referenced_items if r.via in ("title", "alias") and r.item_id not in ids]
        return tuple((i, sentiment.get(i, "neutral")) for i in ids)

    def __call__(self, messages: list[dict]) -> dict[str, float]:
        named: dict[str, float] = {}
        for m in messages:
            for item_id, sentiment in self._cached(m.get("content") or ""):
                weight = 1.5 if sentiment == "liked" and m.get("role") == "user" else 1.0
                named[item_id] = max(named.get(item_id, 0.0), weight)
        return named


def engine_system(setup: Setup, scorers: Scorers, mix: Mix, reader: TextNamedItems) -> Callable[[list[dict], int], list[str]]:
    """Return recommend(messages, k) for the engine-only system: named items from text -> the mix."""
    def recommend(messages: list[dict], k: int) -> list[str]:
        named = reader(messages)
        return top_ids(setup.catalog, mix.scores(scorers, named), exclude=named, n=k)
    return recommend


# ---------------------------------------------------------------- the system under test (the REST API's path)


def recommend_for_dialogue(messages: list[dict], k: int) -> list[str]:
    """Return the item ids the product recommends for a dialogue, through the REST API's own call."""
    from chat.services import TurnError, recommend_from_messages

    try:
        answer = recommend_from_messages(messages=messages, profile=None, k=k)
    except TurnError:
        return []
    return [str(card.get("external_id") or card["id"]) for card in answer.items]


def dialogue_inputs(turns: list[SuggestionTurn]) -> dict[str, list]:
    """Return train_bundle's inputs from recorded suggestion turns: (items named so far, items suggested) for the
    co-mention model and (messages so far, items suggested) for the text encoder."""
    return {"dialogue_pairs": [(t.context, t.suggested) for t in turns],
            "encoder_dialogues": [(t.messages, t.suggested) for t in turns]}


def pipeline_bundle(setup: Setup, out_dir: Path, config: dict | None = None, progress: bool = False,
                    pairs_from: list[Dialogue] | None = None, learned_reading: bool = False,
                    train_encoder: bool = False):
    """Return (bundle, serving catalog): a model version trained on the catalog's ratings and the training
    dialogues (or `pairs_from`), as `manage.py train` fits it when dialogues are imported; a version already in
    out_dir is loaded as it is. The learned reading of replies is fitted only when asked for (it takes minutes),
    and so is the jointly trained text encoder (`train_encoder`, what CHATREC_TRAIN_ENCODER turns on)."""
    from recommender.engine.conversation import ServingCatalog
    from recommender.engine.serving import RecommenderBundle
    from recommender.engine.training import train_bundle

    dialogues = setup.train if pairs_from is None else pairs_from
    report = (lambda stage, share: print(f"  training: {stage} {share:.0%}", file=sys.stderr)) if progress else None
    if not (out_dir / "manifest.json").exists():
        inputs = dialogue_inputs([t for _, t in setup.turns(dialogues)])
        if not train_encoder:
            inputs["encoder_dialogues"] = None
        train_bundle(setup.data, out_dir, config=config or PIPELINE_CONFIG, progress=report,
                     dialogues=dialogues if learned_reading else None, **inputs)
    bundle = RecommenderBundle.load(out_dir, reuse=False)
    counts = np.asarray(setup.catalog.interactions.getnnz(axis=0), dtype=np.float64)
    catalog = ServingCatalog.build({r.item_id: r for r in setup.catalog.records},
                                   dict(zip(setup.catalog.item_ids, counts)))
    return bundle, catalog


def pipeline_recommender(bundle, catalog, on_plan: Callable[[Any], None] | None = None, learned: bool = False,
                         **turn_options: Any) -> Callable[[list[dict], int], list[str]]:
    """Return recommend(messages, k) through the product's own turn pipeline: the whole dialogue read by the
    understanding layer, the last user message answered. `turn_options` go to `TurnInput` (the LLM steps);
    `on_plan` sees each finished plan. With `learned`, the version's learned reading of replies reads them (what
    CHATREC_LEARNED_READING turns on); without, the rules alone, as served by default."""
    from recommender.engine.conversation import TurnInput, collect, context_from_messages

    reading = bundle.learned if learned else None

    def recommend(messages: list[dict], k: int) -> list[str]:
        last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
        if last is None:
            return []
        others = messages[:last] + messages[last + 1:]
        state = context_from_messages(others, catalog, learned=reading)
        plan = collect(TurnInput(text=messages[last]["content"] or "recommend something", state=state,
                                 catalog=catalog, bundle=bundle, k=min(k, 100), dialogue=others, learned=reading,
                                 always_list=True, **turn_options))
        if on_plan is not None:
            on_plan(plan)
        return [s.item_id for s in plan.items]

    return recommend


# ---------------------------------------------------------------- running


@dataclass
class Result:
    name: str
    recall: dict[int, float]
    turns: int
    p95_ms: float
    raw_recall: dict[int, float] | None = None  # no-dedup: every linked item the turn names, the ranking as it is
    mean_ms: float = 0.0


def every_linked_target(setup: Setup) -> dict[tuple[str, int], list[str]]:
    """Return every linked item each turn names, repeats of earlier ones included (the no-dedup targets), by
    (conversation id, turn index)."""
    out = {}
    for dialogue in setup.train + setup.dev:
        links = setup.links[dialogue.conversation_id]
        for index, turn in enumerate(dialogue.turns):
            out[(dialogue.conversation_id, index)] = list(
                dict.fromkeys(links[s] for s in turn.mentions if links.get(s))
            )
    return out


def evaluate(name: str, turns: list[tuple[str, SuggestionTurn]], rank: Callable[[SuggestionTurn], list[str]],
             progress: bool = False, every_target: dict[tuple[str, int], list[str]] | None = None) -> Result:
    """Return mean dedup recall@k over turns for a ranking function, with its p95 time per turn (and no-dedup
    recall too when `every_target` is given)."""
    from tqdm import tqdm

    sums = {k: 0.0 for k in KS}
    raw = {k: 0.0 for k in KS}
    times = []
    for cid, turn in tqdm(turns, desc=name, disable=not progress, leave=False):
        started = time.perf_counter()
        ranking = rank(turn)
        times.append((time.perf_counter() - started) * 1000)
        ranked, targets = dedup(ranking, turn.suggested, turn.context)
        for k in KS:
            sums[k] += recall_at(ranked, targets, k)
            if every_target is not None:
                raw[k] += recall_at(ranking, every_target[(cid, turn.index)], k)
    n = max(len(turns), 1)
    return Result(name, {k: sums[k] / n for k in KS}, len(turns), percentile(times, 95),
                  {k: raw[k] / n for k in KS} if every_target is not None else None,
                  float(np.mean(times)) if times else 0.0)


def perfect_linking_rankers(setup: Setup, scorers: Scorers, redial_prior: np.ndarray) -> dict[str, Callable]:
    """Return the baselines that read the dataset's own movie ids (perfect linking), not the text."""
    cat = setup.catalog
    pop = scorers.popularity
    redial_pop = redial_prior + 1e-6 * pop  # ties (never suggested) broken by rating counts
    return {
        "popularity (ml-latest-small ratings)": lambda t: top_ids(cat, pop, t.context, TOP + len(t.context)),
        "ReDial suggestion popularity": lambda t: top_ids(cat, redial_pop, t.context, TOP + len(t.context)),
        "EASE, perfect linking": lambda t: top_ids(cat, scorers.ease(t.context) + 1e-6 * pop, t.context,
                                                   TOP + len(t.context)),
        "co-mention, perfect linking": lambda t: top_ids(cat, scorers.co_mention(t.context) + 1e-6 * pop, t.context,
                                                         TOP + len(t.context)),
    }


MIX_GRID = [Mix(e, p, q, y) for e in (1.0, 2.0) for p in (0.5, 1.0, 2.0) for q in (0.0, 0.1)
            for y in (0.0, 0.1, 0.3)]


def tune_mix(setup: Setup, reader: TextNamedItems, limit: int | None, cache: Path | None,
             progress: bool = False) -> tuple[Mix, float]:
    """Return the mix with the best recall@10 + recall@50 on the tuning slice of the training dialogues,
    with the models fitted on the rest of the training dialogues (text linking, as the engine system sees it)."""
    from tqdm import tqdm

    tune = [d for d in setup.train if int(d.conversation_id) % 5 == TUNE_REMAINDER]
    fit = [d for d in setup.train if int(d.conversation_id) % 5 != TUNE_REMAINDER]
    scorers = Scorers(setup, comention_model(setup, fit), fit, cache=cache)
    turns = setup.turns(tune)[:limit] if limit else setup.turns(tune)
    prepared = []
    for _, t in tqdm(turns, desc="tuning slice", disable=not progress, leave=False):
        named = reader(t.messages)
        prepared.append((t, named, *scorers.parts(named)))
    best, best_value = MIX_GRID[0], -1.0
    for mix in MIX_GRID:
        total = 0.0
        for t, named, links, ease in prepared:
            ranking = top_ids(setup.catalog, mix.combine(links, ease, scorers), named, TOP + len(t.context))
            ranked, targets = dedup(ranking, t.suggested, t.context)
            total += recall_at(ranked, targets, 10) + recall_at(ranked, targets, 50)
        value = total / max(len(prepared), 1)
        if value > best_value:
            best, best_value = mix, value
    return best, best_value


def run(root: Path, *, system: bool = False, pipeline: bool = True, limit: int | None = None,
        progress: bool = True, cache: Path | None = None) -> tuple[list[Result], dict]:
    """Return the results of every system on the development turns, plus facts about the run."""
    started = time.perf_counter()
    setup = load_setup(root)
    counts = dict(zip(setup.catalog.item_ids, np.asarray(setup.catalog.interactions.getnnz(axis=0), dtype=float)))
    reader = TextNamedItems(setup.catalog, counts, setup.linker)
    mix, tuned = tune_mix(setup, reader, None, cache, progress)
    comention = comention_model(setup, setup.train)
    scorers = Scorers(setup, comention, setup.train, cache=cache)
    dev_turns = setup.turns(setup.dev)
    if limit:
        dev_turns = dev_turns[:limit]
    results = [evaluate(name, dev_turns, rank, progress)
               for name, rank in perfect_linking_rankers(setup, scorers, comention.prior).items()]
    results.append(evaluate("engine mix, perfect linking", dev_turns,
                            lambda t: top_ids(setup.catalog, mix.scores(scorers, t.context), t.context,
                                              TOP + len(t.context)), progress))
    engine = engine_system(setup, scorers, mix, reader)
    results.append(evaluate("engine mix from text (no Django)", dev_turns,
                            lambda t: engine(t.messages, TOP + len(t.context)), progress))
    if pipeline:
        with tempfile.TemporaryDirectory() as tmp:
            # One version serves both rows: they differ only in whether a turn reads replies with its classifier.
            bundle, catalog = pipeline_bundle(setup, Path(tmp) / "version", progress=progress, learned_reading=True)
            for learned, name in ((False, "ChatRec turn pipeline (whole dialogue as text)"),
                                  (True, "ChatRec turn pipeline + learned reading of replies")):
                product = pipeline_recommender(bundle, catalog, learned=learned)
                results.append(evaluate(name, dev_turns,
                                        lambda t, rank=product: rank(t.messages, TOP + len(t.context)), progress))
    if system:
        results.append(evaluate("system under test (REST path)", dev_turns,
                                lambda t: recommend_for_dialogue(t.messages, TOP + len(t.context)), progress))
    linked = [v for d in setup.dev for v in setup.links[d.conversation_id].values()]
    facts = {
        "train_dialogues": len(setup.train), "dev_dialogues": len(setup.dev), "dev_turns": len(dev_turns),
        "linked_share": sum(v is not None for v in linked) / max(len(linked), 1),
        "comention_pairs": comention.n_pairs, "mix": mix, "mix_tuned_value": tuned,
        "seconds": time.perf_counter() - started,
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
    }
    return results, facts


def format_table(results: list[Result], facts: dict) -> str:
    """Return the results as a Markdown table with the run's facts and the published anchors."""
    from recommender.engine.mixing import ConversationMix

    mix, served = facts["mix"], ConversationMix()
    intro = (
        "Development split only: ReDial training dialogues with conversationId % 5 == 0 "
        f"({facts['dev_dialogues']} dialogues; {facts['dev_turns']} recommender turns that name a new movie found "
        f"in ml-latest-small; {facts['linked_share']:.0%} of the dev dialogues' movies link by title and year). "
        f"Co-mention models fitted on the other {facts['train_dialogues']} dialogues "
        f"({facts['comention_pairs']} suggestion turns); the engine mix (co-mention links 1, dialogue EASE {mix.ease}, "
        f"ReDial suggestion prior {mix.prior}, rating popularity {mix.popularity}, suggested-year prior {mix.year}) "
        "tuned on their "
        "conversationId % 5 == 1 slice. Dedup protocol: movies named earlier are removed from rankings and targets. "
        "Catalog: ml-latest-small (9,742 movies). "
        "*ChatRec turn pipeline* is the product's own path for a turn (what `POST /api/v1/recommend` runs, less "
        "its database reads): a model version trained on the catalog's ratings (EASE and popularity fused on "
        "validation; the packaged text encoder, as `CHATREC_TRAIN_ENCODER=false` serves: the default trains it, "
        "see \"The REST path with and without the jointly trained encoder\") plus the co-mention model and its "
        "conversation EASE (the catalog's ratings plus each "
        "training suggestion turn as a row of the items it names) from the training dialogues, the whole "
        "dialogue read as text by "
        "the understanding layer (user and assistant turns), the last user message answered with k = 50 + the "
        "named items; like the REST call, a turn that asks something else (\"What's it about?\", \"thanks\") is "
        "answered and the list follows. Its mix is `recommender.engine.mixing.ConversationMix` (co-mention links "
        f"{served.links}, conversation EASE {served.together}, both times the dialogues' share of what is known "
        f"about the named items, at least {served.share_in_discussion} once the assistant has suggested items "
        f"(whatever the seeker made of them) or the conversation holds titles named without a stated taste; hybrid "
        f"{served.hybrid}; suggestion prior "
        f"{served.prior} once something is named, "
        f"{served.prior_alone} when nothing is, {served.prior_discussed} once the assistant has suggested items, "
        f"with the popularity a taste borrows then {served.popularity_discussed}), chosen on several objectives at "
        "once with `python -m "
        "benchmarks.person --tune` (the \"What a person sees\" section). *+ learned reading of replies* reads "
        "replies to a suggestion with the reaction "
        "classifier fitted on the training dialogues' questionnaires (`CHATREC_LEARNED_READING`, off by default; "
        "`docs/dialogue.md`)."
    )
    lines = [
        intro,
        "",
        "| system | R@1 | R@10 | R@50 | p95 ms/turn |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.name} | {r.recall[1]:.3f} | {r.recall[10]:.3f} | {r.recall[50]:.3f} | {r.p95_ms:.1f} |")
    anchors = "; ".join(f"{name} R@10 {r10:.3f}" + (f" / R@50 {r50:.3f}" if r50 else "") for name, r10, r50 in ANCHORS)
    lines += ["", ("Published, official ReDial **test** split, same protocol (not comparable one to one: other split, "
                   f"full ReDial catalog): {anchors}."),
              "", (f"Run time {facts['seconds']:.0f} s (EASE weights cached from an earlier run); 1-minute load "
                   f"average {facts.get('load', float('nan')):.1f} at the end on this 2-core machine, which the "
                   "ms/turn column feels. Reproduce: "
              "`python -m benchmarks.conversations --data-dir ../shared/data` ("
              "`--system` adds the REST call itself, which needs a migrated database with ml-latest-small and "
              "the ReDial dialogues imported and a trained model).")]
    return "\n".join(lines)


# ---------------------------------------------------------------- the configured LLM in the turn pipeline

LLM_SECTION = "conversations-llm"
LLM_SYSTEMS = [("ChatRec turn pipeline, rules only", {}),
               ("+ LLM reading of the dialogue", {"read": True}),
               ("+ LLM reading and LLM-suggested titles", {"read": True, "candidates": True})]


def configured_backend():
    """Return (backend, description) from the Django settings' CHATREC_LLM_* (the path serving uses).

    Refuses the scripted and the absent backend: this measures a real model.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")
    import django

    django.setup()
    from recommender.engine.llm import start_backend
    from recommender.selectors import llm_config

    config = llm_config()
    if config["backend"] in ("fake", "none"):
        raise SystemExit("--llm measures a real model: set CHATREC_LLM_BACKEND to llamacpp, transformers or openai")
    backend, _ = start_backend(config, fallback=False)
    return backend, backend.describe()


class RepliesOnce:
    """The backend with its structured replies remembered per prompt, so the LLM systems that share a call
    (the dialogue reading) ask it once; generation is deterministic (temperature 0), so the answer is the same."""

    def __init__(self, backend):
        self.backend, self.name, self.enabled = backend, backend.name, True
        self.replies: dict[tuple[str, str], str] = {}
        self.seconds: list[float] = []

    def complete(self, prompt: str, **kwargs: Any) -> str:
        import json

        key = (prompt, json.dumps(kwargs, sort_keys=True, default=str))
        if key not in self.replies:
            started = time.perf_counter()
            self.replies[key] = self.backend.complete(prompt, **kwargs)
            self.seconds.append(time.perf_counter() - started)
        return self.replies[key]


@dataclass
class LLMTally:
    """What the LLM steps did over a run of turns (from each plan's "llm" report)."""

    turns: int = 0
    readings: int = 0  # valid readings
    added: int = 0  # mentions, reactions and constraint slots a reading added
    suggested: int = 0  # catalog titles the LLM suggested
    allowed: int = 0  # of those, the ones that passed the turn's constraints and exclusions
    failed: int = 0  # turns whose LLM step timed out or failed

    def see(self, plan: Any) -> None:
        report = plan.extra.get("llm", {})
        self.turns += 1
        read, cands = report.get("read"), report.get("candidates")
        if read is not None:
            self.readings += bool(read.get("applied"))
            self.added += sum(len(v) for v in (read.get("changed") or {}).values())
        if cands is not None:
            self.suggested += len(cands.get("suggested", []))
            self.allowed += len(cands.get("allowed", []))
        self.failed += any(r is not None and not r.get("applied") and r.get("reason") not in (None, "", "invalid reply")
                           for r in (read, cands))


def run_llm(root: Path, backend, *, limit: int, budget: float, progress: bool = True
            ) -> tuple[list[Result], dict]:
    """Return the turn pipeline's recall on the first `limit` development turns without and with the LLM steps."""
    started = time.perf_counter()
    setup = load_setup(root)
    turns = setup.turns(setup.dev)[:limit]
    once = RepliesOnce(backend)
    tallies: dict[str, LLMTally] = {}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        bundle, catalog = pipeline_bundle(setup, Path(tmp) / "version", progress=progress)
        for name, options in LLM_SYSTEMS:
            tally = tallies[name] = LLMTally()
            llm: dict[str, Any] = {"backend": once, "llm": LLMSteps(budget_s=budget, **options)} if options else {}
            product = pipeline_recommender(bundle, catalog, on_plan=tally.see, **llm)

            def rank(t: SuggestionTurn, rec=product) -> list[str]:
                return rec(t.messages, TOP + len(t.context))

            results.append(evaluate(name, turns, rank, progress))
    calls = sorted(once.seconds)
    facts = {"turns": len(turns), "tallies": tallies, "budget": budget, "calls": len(calls),
             "call_p50_s": percentile(calls, 50), "call_p95_s": percentile(calls, 95),
             "seconds": time.perf_counter() - started}
    return results, facts


def format_llm_table(results: list[Result], facts: dict, described: str, limit: int) -> str:
    """Return the LLM run as Markdown: recall per system and what the LLM steps did."""
    lines = [
        f"Backend: {described}. The first {facts['turns']} recommender turns of the development split "
        "(conversationId % 5 == 0), with the model version and dedup protocol of the *ChatRec turn pipeline* row of the "
        "development-split table; "
        f"the LLM steps get {facts['budget']:.0f} s a turn. The dialogue reading is asked once per turn and "
        "shared by both LLM rows (deterministic decoding), so their ms/turn are not comparable with each other.",
        "",
        "| system | R@1 | R@10 | R@50 | p95 ms/turn | valid readings | things added | titles suggested (kept) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t = facts["tallies"][r.name]
        read = f"{t.readings}/{t.turns}" if r.name != LLM_SYSTEMS[0][0] else "–"
        added = str(t.added) if r.name != LLM_SYSTEMS[0][0] else "–"
        sugg = f"{t.suggested} ({t.allowed})" if "suggested" in r.name else "–"
        lines.append(f"| {r.name} | {r.recall[1]:.3f} | {r.recall[10]:.3f} | {r.recall[50]:.3f} | {r.p95_ms:.0f} "
                     f"| {read} | {added} | {sugg} |")
    failed = max(t.failed for t in facts["tallies"].values())
    lines += ["", (f"{failed} turns had an LLM step time out or fail. {facts['calls']} LLM calls, median {facts['call_p50_s']:.1f} s, p95 {facts['call_p95_s']:.1f} s; "
                   f"run time {facts['seconds']:.0f} s. Reproduce: `CHATREC_LLM_BACKEND=... python -m "
                   f"benchmarks.conversations --llm --limit {limit}` (the backend as configured for serving: "
                   "`CHATREC_LLM_*`, e.g. `CHATREC_LLM_BACKEND=openai CHATREC_LLM_BASE_URL=... CHATREC_LLM_MODEL=...`).")]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--system", action="store_true", help="Also replay the REST API's path (needs Django).")
    parser.add_argument("--no-pipeline", action="store_true",
                        help="Skip the product's turn pipeline (it trains a model version first).")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N turns (a quick look).")
    parser.add_argument("--llm", action="store_true",
                        help="Measure the configured LLM backend (CHATREC_LLM_*) in the turn pipeline: rules only, "
                             "with the LLM reading the dialogue, and with LLM-suggested titles too (default --limit 100).")
    parser.add_argument("--llm-budget", type=float, default=120.0,
                        help="Seconds the LLM steps may take per turn (serving uses CHATREC_LLM_TURN_BUDGET).")
    parser.add_argument("--no-docs", action="store_true", help="Do not rewrite docs/benchmarks.md.")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.system:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")
        import django

        django.setup()
    if args.llm:
        backend, described = configured_backend()
        limit = args.limit or 100
        results, facts = run_llm(data_dir(args.data_dir), backend, limit=limit, budget=args.llm_budget,
                                 progress=not args.no_progress)
        text = format_llm_table(results, facts, described, limit)
        print(text)
        if not args.no_docs:
            from benchmarks.common import write_section

            write_section(f"{LLM_SECTION}-first-{limit}", "## LLM reading and candidates on ReDial dialogues "
                          f"(development split, first {limit} turns)\n\n{text}")
        return 0
    cache = cache_dir()
    results, facts = run(data_dir(args.data_dir), system=args.system, pipeline=not args.no_pipeline, limit=args.limit,
                         progress=not args.no_progress, cache=cache)
    text = format_table(results, facts)
    print(text)
    if not args.no_docs:
        from benchmarks.common import write_section

        # A limited run (the first N development turns) gets its own section, so it never replaces the full one.
        name, title = SECTION, "## Conversational recommendation on ReDial dialogues (development split)"
        if args.limit:
            name, title = f"{SECTION}-first-{args.limit}", f"{title[:-1]}, first {args.limit} turns)"
        if args.system:
            name, title = f"{name}-system", f"{title} with the REST path"
        write_section(name, f"{title}\n\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
