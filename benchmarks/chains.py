"""Chains benchmark: how many shown explanations carry a verified knowledge chain, and how good the chains are.

Run: python -m benchmarks.chains --data-dir ../shared/data [--users 200] [--top 5] [--no-docs]
On ML-100K, ml-latest-small and the sample catalog, an item-kNN + popularity hybrid (fitted through the engine
API on a per-user random 80/20 split) lists each chosen user's top picks; their evidence comes from the serving
path (`RecommenderBundle.evidence_for`, which attaches the chain), and the template says it, half the users in
English and half in Chinese. Each shown explanation is checked by the explanation checker, and every hop of its
chain again against a graph built separately from the records. Path-quality measures after Balloccu et al.
(SIGIR 2022): linking-interaction recency (LIR), shared-entity popularity (SEP) and explanation-type diversity
(ETD), with the same measures for a baseline that links through the most common shared entity instead. The
explanation audit (`benchmarks.explain.Audit`) is run over the same texts. Figures are printed and written to
docs/benchmarks.md between the chains markers.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.common import add_data_dir, data_root, percentile, sample_likes, write_section
from recommender.engine.data import InteractionData, load_ml100k, load_ml_latest, random_split
from recommender.engine.explain import (
    check_explanation,
    cited_in_text,
    evidence_coverage,
    evidence_titles,
    explain_text,
    shown_evidence,
)
from recommender.engine.explain.chains import shown_via
from recommender.engine.explain.checker import knowledge_graph
from recommender.engine.knowledge import CHAIN_KIND, FRIEND_KIND, KnowledgeGraph, chain_of, chain_problems
from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import build_hybrid, merged_config
from recommender.engine.types import Evidence, ScoredItem

# Item-item evidence is what a chain starts from; item-kNN is the hybrid's cheapest model that gives it.
CONFIG = {
    "components": {"itemknn": {"k": 100, "shrink": 10.0}, "popularity": {}},
    "dense_item_limit": 100_000,
    "tune": {},
}
NOTES = (
    "Reading the figures: every chain here has two hops in the graph (item, entity, item), three with the "
    "person's own interaction in front, as in Balloccu et al.'s user-item-entity-item paths; the catalogs carry no directors or "
    "actors, so a chain runs through what they do carry, mostly genres (high SEP: a genre links many films), with "
    "user tags and series where ml-latest-small has them. Texts the checker rejects come from titles it cannot "
    "read (\u201cWALL\u00b7E\u201d is read as two names) or a title that is also a genre word, with or without a "
    "chain."
)
DONE_WHEN = 0.60  # share of shown explanations on ml-latest-small with a verified chain of two hops or more


@dataclass
class Tally:
    """Per catalog and language: shown explanations, their chains and the chains' quality."""

    shown: int = 0
    turns: int = 0  # chat turns read in this language (the turn pipeline's part)
    passing: int = 0  # the whole text passes the explanation checker
    chained: int = 0  # a chain of >= 2 hops is said, every hop verified
    hops_shown: int = 0
    hops_verified: int = 0
    lengths: list[int] = field(default_factory=list)
    lir: list[float] = field(default_factory=list)
    sep: list[float] = field(default_factory=list)
    sep_base: list[float] = field(default_factory=list)
    etd: list[float] = field(default_factory=list)
    etd_base: list[float] = field(default_factory=list)
    relations: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # text and check, with the chain
    flat_seconds: list[float] = field(default_factory=list)  # the same from the flat evidence list
    fidelity: list[float] = field(default_factory=list)
    flat_fidelity: list[float] = field(default_factory=list)


def _sep(graph: KnowledgeGraph, relation: str, key: str, top: dict[str, int]) -> float:
    """Return an entity's popularity in 0..1: log degree over the log of its relation's largest degree."""
    return math.log1p(graph.degree(relation, key)) / math.log1p(max(top.get(relation, 1), 1))


def _relation_tops(graph: KnowledgeGraph) -> dict[str, int]:
    tops: dict[str, int] = {}
    for entity in graph.entities.values():
        tops[entity.relation] = max(tops.get(entity.relation, 0), len(entity.items))
    return tops


class Recency:
    """Each user's interaction times with the training items, scaled to 0 (oldest) .. 1 (newest)."""

    def __init__(self, data: InteractionData) -> None:
        self.at: dict[tuple[int, int], float] = {}
        if data.timestamps is None:
            return
        spans: dict[int, tuple[float, float]] = {}
        for u, t in zip(data.rows, data.timestamps):
            low, high = spans.get(int(u), (t, t))
            spans[int(u)] = (min(low, t), max(high, t))
        for u, i, t in zip(data.rows, data.cols, data.timestamps):
            low, high = spans[int(u)]
            self.at[(int(u), int(i))] = (t - low) / (high - low) if high > low else 1.0

    def of(self, user: int, item: int) -> float | None:
        return self.at.get((user, item))


def _fit(train: InteractionData):
    hybrid = build_hybrid(merged_config(CONFIG))
    return hybrid.fit_with_validation(train, protocol="random", seed=0)


def run_catalog(name: str, train: InteractionData, users: int, top: int, seed: int, audit_cls) -> dict:
    """Explain the top picks of chosen users of one catalog; return its tallies per language and its audit."""
    start = time.perf_counter()
    hybrid = _fit(train)
    fit_s = time.perf_counter() - start
    catalog = hybrid.catalog
    bundle = RecommenderBundle(hybrid)
    records = {r.item_id: r for r in catalog.records}
    graph = KnowledgeGraph.build(catalog.records)  # built apart from the bundle's: the hops are checked again
    tops = _relation_tops(graph)
    knowledge_graph(records)  # the checker's own graph, built once before the timed calls
    recency = Recency(train)
    audit = audit_cls(catalog.records)
    tallies = {"en": Tally(), "zh": Tally()}
    rng = np.random.default_rng(seed)
    chosen = rng.choice(catalog.n_users, size=min(users, catalog.n_users), replace=False)
    seconds: list[float] = []
    for n, u in enumerate(chosen):
        language = "zh" if n % 2 else "en"
        user = catalog.user_ids[int(u)]
        picks = bundle.recommend(user_key=user, n=top, with_evidence=False)
        t0 = time.perf_counter()
        found = bundle.evidence_for([s.item_id for s in picks], user_key=user)
        seconds.append((time.perf_counter() - t0) / max(len(picks), 1))
        listed: list[tuple[dict, list[Evidence]]] = []
        for scored in picks:
            evidence = found[scored.item_id]
            _explain_one(records[scored.item_id], evidence, catalog, records, graph, language, tallies[language], audit)
            chain = chain_of(evidence)
            if chain is not None:
                listed.append((chain, evidence))
        _list_measures(listed, graph, tops, recency, int(u), catalog.item_index, language, tallies[language], top)
    return {
        "name": name,
        "tallies": tallies,
        "turns": run_turns(bundle, records, graph, train, top, audit_cls),
        "audit": audit,
        "fit_s": fit_s,
        "users": len(chosen),
        "evidence_ms": 1000 * statistics.median(seconds) if seconds else 0.0,
        "graph": graph,
    }


def _said(item, evidence, catalog, records, language, seconds: list, fidelity: list) -> tuple[str, list[str]]:
    """Return the template's text for a pick and the checker's problems, timing both and adding its fidelity."""
    start = time.perf_counter()
    text = explain_text(item, evidence, language=language, catalog_titles=evidence_titles(evidence, catalog, language))
    problems = check_explanation(text, item, evidence, records, language=language)
    seconds.append(time.perf_counter() - start)
    cited = cited_in_text(text, evidence, records, language=language)
    fidelity.append(evidence_coverage(ScoredItem(item.item_id, 0.0, evidence), cited))
    return text, problems


def _explain_one(item, evidence, catalog, records, graph, language, tally: Tally, audit) -> None:
    """Say one pick's explanation, check it and its chain, and count it."""
    text, problems = _said(item, evidence, catalog, records, language, tally.seconds, tally.fidelity)
    # The same pick said from the flat evidence list (no chain fact): the baseline for time and fidelity.
    flat = [e for e in evidence if e.kind not in (CHAIN_KIND, FRIEND_KIND)]
    _said(item, flat, catalog, records, language, tally.flat_seconds, tally.flat_fidelity)
    audit.explanation(text, item, evidence, shown_evidence(evidence, records, language), language, records)
    _count(text, problems, item, evidence, graph, language, tally)


def _count(text: str, problems: list[str], item, evidence, graph, language: str, tally: Tally) -> None:
    """Count one shown explanation: whether it passes the checker, and its chain's hops as the graph holds them."""
    tally.shown += 1
    tally.passing += int(not problems)
    if problems and len(tally.failures) < 5:
        tally.failures.append(f"{text} -> {'; '.join(problems)}")
    chain = chain_of(evidence)
    via = shown_via(chain, language) if chain is not None else []
    if not via:
        return
    shown_chain = {**chain, "via": via}
    tally.hops_shown += 2 * len(via)
    bad = chain_problems(shown_chain, item.item_id, evidence, graph)
    tally.hops_verified += 2 * len(via) - len([p for p in bad if p.startswith("hop not in the graph")])
    if not bad and not problems:
        tally.chained += 1
        tally.lengths.append(2)
        tally.relations.update(h["relation"] for h in via)
        if len(tally.examples) < 3:
            tally.examples.append(text)


def run_turns(bundle, records, graph, train: InteractionData, top: int, audit_cls) -> dict:
    """Run the chat's turn pipeline (`conversation.collect`) on turns naming one favourite film, in English and
    Chinese ("I loved Alien. Something like it?"), and count the chains of the explanations it shows."""
    from benchmarks.explain import FAVOURITES
    from recommender.engine import rules
    from recommender.engine.conversation import ServingCatalog, TurnInput, collect
    from recommender.engine.understanding import ConversationState

    counts = np.asarray(train.explicit().getnnz(axis=0))
    serving = ServingCatalog.build(records, {train.item_ids[j]: float(c) for j, c in enumerate(counts) if c})
    by_title = {r.title: r for r in records.values()}
    tallies = {"en": Tally(), "zh": Tally()}
    audit = audit_cls(list(records.values()))
    turns = 0
    for record in (by_title[t] for t in FAVOURITES if t in by_title):
        for asked in ("en", "zh"):
            name = rules.display_title(record, asked)
            text = f"I loved {name}. Something like it?" if asked == "en" else f"我很喜欢《{name}》，推荐类似的"
            plan = collect(
                TurnInput(text=text, catalog=serving, state=ConversationState(), shown=[], bundle=bundle, k=top)
            )
            turns += 1
            language = "zh" if plan.language == "zh" else "en"  # as the turn read it, as the explanation benchmark
            tallies[language].turns += 1
            for scored in plan.items:
                done = plan.explained.get(scored.item_id)
                if done is None:
                    continue
                item, evidence = records[scored.item_id], scored.evidence
                problems = check_explanation(done.text, item, evidence, records, language=language)
                audit.explanation(
                    done.text, item, evidence, shown_evidence(evidence, records, language), language, records
                )
                _count(done.text, problems, item, evidence, graph, language, tallies[language])
    return {"tallies": tallies, "audit": audit, "turns": turns}


def _list_measures(listed, graph, tops, recency: Recency, user: int, index, language, tally: Tally, k: int) -> None:
    """Add LIR and SEP per shown chain, and ETD over one user's list, for the chains and the baseline."""
    kinds, base_kinds = set(), set()
    for chain, _ in listed:
        via = shown_via(chain, language)
        if not via:
            continue
        kinds.add(via[0]["relation"])
        tally.sep.append(_sep(graph, via[0]["relation"], via[0]["key"], tops))
        when = recency.of(user, index[chain["from"]]) if chain["from"] in index else None
        if when is not None:
            tally.lir.append(when)
        # The baseline links through the shared entity most items carry (what a genre match says).
        shared = sorted(graph.shared(chain["from"], chain["item"]), key=lambda e: -len(e.items))
        if shared:
            base_kinds.add(shared[0].relation)
            tally.sep_base.append(_sep(graph, shared[0].relation, shared[0].key, tops))
    if listed:
        available = min(k, len(tops))
        tally.etd.append(len(kinds) / available)
        tally.etd_base.append(len(base_kinds) / available)


# ---------------------------------------------------------------- catalogs


def sample_train(seed: int) -> InteractionData:
    """Return the sample catalog's synthetic likes with their times (benchmarks.common.sample_likes)."""
    from recommender.sample_data import load_catalog

    users, items, times = sample_likes()
    return InteractionData(users, items, timestamps=times, items=load_catalog())


def catalogs(data_dir: Path, seed: int) -> list[tuple[str, InteractionData]]:
    out = []
    if (data_dir / "ml-100k").exists():
        out.append(("ML-100K", random_split(load_ml100k(data_dir / "ml-100k"), 0.2, seed).train))
    if (data_dir / "ml-latest-small").exists():
        out.append(("ml-latest-small", random_split(load_ml_latest(data_dir / "ml-latest-small"), 0.2, seed).train))
    out.append(("sample catalog", sample_train(seed)))
    return out


# ---------------------------------------------------------------- report


def _pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.1f} % ({a}/{b})" if b else "n/a"


def _mean(values: list) -> str:
    return f"{statistics.fmean(values):.3f}" if values else "n/a"


def rows(results: list[dict]) -> list[str]:
    out = [
        "| catalog | language | shown | text passes the checker | verified chain of ≥ 2 hops | hops shown in the graph "
        "| mean length | LIR | SEP (baseline) | ETD (baseline) | relations said |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for language, t in result["tallies"].items():
            relations = ", ".join(f"{r} {n}" for r, n in t.relations.most_common(5)) or "—"
            out.append(
                f"| {result['name']} | {language} | {t.shown} | {_pct(t.passing, t.shown)} | "
                f"{_pct(t.chained, t.shown)} | {_pct(t.hops_verified, t.hops_shown)} | {_mean(t.lengths)} | "
                f"{_mean(t.lir)} | {_mean(t.sep)} ({_mean(t.sep_base)}) | {_mean(t.etd)} ({_mean(t.etd_base)}) "
                f"| {relations} |"
            )
    return out


def turn_rows(results: list[dict]) -> list[str]:
    out = [
        "| catalog | language | turns | explained items | text passes the checker | verified chain of ≥ 2 hops | "
        "hops shown in the graph | relations said |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        turns = result["turns"]
        for language, t in turns["tallies"].items():
            relations = ", ".join(f"{r} {n}" for r, n in t.relations.most_common(5)) or "—"
            out.append(
                f"| {result['name']} | {language} | {t.turns} | {t.shown} | "
                f"{_pct(t.passing, t.shown)} | {_pct(t.chained, t.shown)} | "
                f"{_pct(t.hops_verified, t.hops_shown)} | {relations} |"
            )
    return out


def _ms(values: list[float]) -> str:
    return f"{1000 * percentile(values, 50):.2f} / {1000 * percentile(values, 95):.2f}" if values else "n/a"


def cost_rows(results: list[dict]) -> list[str]:
    out = [
        "| catalog | language | text + check p50 / p95 (ms), chain | flat | evidence fidelity, chain | flat |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        for language, t in result["tallies"].items():
            out.append(
                f"| {result['name']} | {language} | {_ms(t.seconds)} | {_ms(t.flat_seconds)} | "
                f"{_mean(t.fidelity)} | {_mean(t.flat_fidelity)} |"
            )
    return out


def _audit_examples(results: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for result in results:
        for audit in (result["audit"], result["turns"]["audit"]):
            for flaw, found in audit.examples.items():
                out.setdefault(flaw, []).extend(found)
    return {flaw: found for flaw, found in out.items() if found}


def report(results: list[dict], command: str, audit_rows) -> str:
    out = [
        "## Explanations as chains",
        "",
        f"Command: `{command}`.",
        "",
        "Each catalog's graph is read from its records (`recommender.engine.knowledge`): genres, user tags "
        "(ml-latest-small's tags.csv), creators, brands, categories, materials, decades, and series found in "
        "titles. "
        + "; ".join(
            f"{r['name']}: {r['graph'].n_items} items, "
            + ", ".join(
                f"{n} {rel}" for rel, n in Counter(e.relation for e in r["graph"].entities.values()).most_common()
            )
            + f" entities (model fit {r['fit_s']:.0f} s, evidence with its chain "
            f"{r['evidence_ms']:.1f} ms per item, median)"
            for r in results
        )
        + ".",
        "",
        "A pick's chain starts at an item its evidence names and the text cites (liked, history, neighbour), and "
        "runs through the entities both carry, most telling first (series, creator, brand, tag, category, "
        "material, genre, decade; rarer first within a relation). *Verified chain*: the explanation says the "
        "chain, passes the checker, and every hop is found again in a graph built apart from the one that served "
        "it. *LIR*: how recent the person's interaction with the chain's first item is among their training "
        "interactions (0 oldest, 1 newest). *SEP*: the shown entity's popularity, log degree over the largest "
        "degree in its relation (lower is more specific). *ETD*: distinct relation types among a user's listed "
        "chains over min(k, relation types). The baseline links the same two items through the shared entity "
        "most items carry. Chinese explanations show only entities that read in Chinese (a Chinese name, a "
        "series, a decade, a proper name), so user tags, mostly English words, are left to the English ones.",
        "",
    ]
    out += rows(results)
    out += [
        "",
        "In the chat's turn pipeline (`conversation.collect`: the conversation mix over the same model), "
        "for turns that name one favourite film (\u201cI loved Alien (1979). Something like it?\u201d, the "
        "explanation benchmark's twenty favourites where the catalog has them, once in each language):",
        "",
    ]
    out += turn_rows(results)
    out += [
        "",
        "The cost and the fidelity of saying the chain, against the same picks said from their flat evidence "
        "lists in the same run (*fidelity*: the share of the pick's score carried by the facts the text names, "
        "as in the explanation benchmark; beside a chain's clause, fewer other history items are named only where the "
        "sentence would pass its length bound):",
        "",
    ]
    out += cost_rows(results)
    latest = next((r for r in results if r["name"] == "ml-latest-small"), None)
    if latest is not None:
        chained = sum(t.chained for t in latest["tallies"].values())
        shown = sum(t.shown for t in latest["tallies"].values())
        share = chained / shown if shown else 0.0
        out += [
            "",
            f"ml-latest-small, both languages: {_pct(chained, shown)} of shown explanations carry a verified "
            f"chain of two hops or more (target {DONE_WHEN:.0%}: {'met' if share >= DONE_WHEN else 'not met'}).",
        ]
    out += [
        "",
        "The explanation audit over the same texts and the evidence lines beside them (every count must be 0):",
        "",
    ]
    audits = {r["name"]: r["audit"] for r in results} | {f"{r['name']}, turns": r["turns"]["audit"] for r in results}
    out += audit_rows(audits)
    for flaw, found in _audit_examples(results).items():
        out += ["", f"Found ({flaw}): " + "; ".join(f"`{e}`" for e in found[:3])]
    out += ["", NOTES]
    examples = [(r["name"], lang, e) for r in results for lang, t in r["tallies"].items() for e in t.examples[:1]]
    if examples:
        out += ["", "Examples:", ""] + [f"- {name}, {lang}: \u201c{text}\u201d" for name, lang, text in examples]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser, "folder holding ml-100k/ and ml-latest-small/")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    from benchmarks.explain import Audit, audit_rows  # the explanation benchmark's one audit of what people read

    results = []
    for name, train in catalogs(data_root(args.data_dir), args.seed):
        print(f"{name}: fitting and explaining {args.users} users' top {args.top}...", file=sys.stderr)
        results.append(run_catalog(name, train, args.users, args.top, args.seed, Audit))
    command = (
        "python -m benchmarks.chains --data-dir ../shared/data"
        + (f" --users {args.users}" if args.users != 200 else "")
        + (f" --top {args.top}" if args.top != 5 else "")
    )
    section = report(results, command, audit_rows)
    print(section)
    for result in results:
        for language, tally in result["tallies"].items():
            for failure in tally.failures:
                print(f"rejected ({result['name']}, {language}): {failure}", file=sys.stderr)
    if not args.no_docs:
        write_section("chains", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
