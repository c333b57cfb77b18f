"""Which text of an item a request in words is matched against, and how near an item sits to every request anyway.

A film's title names it ("The Dark Knight"); to a request such as "something dark and slow" its words are noise,
and matching against the rest of the text (genres, tags, description) finds more of what was asked. A shop's
title describes ("White Floral Chiffon Dress"): without it, the request loses the very words it asks with. Which
kind of title a catalog has is measured, per domain, on the catalog's own descriptive values: each value is the
request, the items carrying it are relevant, and the value is left out of their texts.

Some items sit close to almost any request: a film with nothing but its genres left, a product with a generic
text. They turn up in list after list. An item's *hubness* is its mean cosine to the HUB_K nearest of the
catalog's own values read as requests; a domain whose values are found MARGIN better with HUB_WEIGHT of each
item's hubness taken off its match (as cross-domain similarity local scaling does) is matched so.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .metrics import recall_at_k, topk_indices
from .types import ItemRecord

WHOLE = "whole"
DESCRIBED = "described"
FORMS = (WHOLE, DESCRIBED, "auto")

# A value is a request when 5 items or more carry it but not more than a fifth of the domain (a genre of half
# the catalog is no request to rank by). 200 values and 20 carriers each bound the extra texts embedded to 8,000
# (about a minute and a half on 2 cores, once: the training's embedding store keeps them); fewer values leave
# the choice to chance where recall is low, as for a film's tags (R@10 near 0.05).
MIN_CARRIERS = 5
MAX_SHARE = 0.2
MAX_VALUES = 200
MAX_CARRIERS = 20
# Fewer values than this say too little to drop a name: the whole text serves.
MIN_VALUES = 10
# The described text must find this much more (relative R@10) to be chosen: names stay unless they clearly hurt.
MARGIN = 1.05
# Hubness: the mean cosine to an item's 10 nearest reference requests (5, 10 and 20 measured within 0.004 R@10 of
# each other on ml-latest-small's tags); at most 2,000 reference values, the most carried first.
HUB_K = 10
MAX_REFERENCES = 2000
# The share of its hubness taken off an item's match. All of it found the most of ml-latest-small's tags (R@10
# 0.082 against 0.051 undamped) but lifted films whose many tags blur their text close to nothing in particular
# (Forrest Gump in 10 of 30 free-text lists); half found nearly as many (0.072) and kept the lists as varied.
HUB_WEIGHT = 0.5


def described(record: ItemRecord) -> ItemRecord:
    """Return the record without its title and aliases: what it is, not what it is called."""
    return replace(record, title="", aliases=())


def request_text(record: ItemRecord, form: str) -> str:
    """Return the text a request in words is matched against, in the given form (WHOLE or DESCRIBED)."""
    if form == DESCRIBED:
        text = described(record).text()
        return text or record.text()  # an item with nothing but a name keeps it
    return record.text()


def without_value(record: ItemRecord, key: str, value: Any) -> ItemRecord:
    """Return the record with one value of an attribute left out (the attribute too when nothing else is left)."""
    attributes = dict(record.attributes)
    current = attributes.get(key)
    if isinstance(current, (list, tuple)):
        attributes[key] = [v for v in current if v != value]
        if not attributes[key]:
            del attributes[key]
    else:
        attributes.pop(key, None)
    return replace(record, attributes=attributes)


def text_values(record: ItemRecord) -> Iterable[tuple[str, str]]:
    """Yield (attribute, value) for each descriptive text value of a record (each once per attribute)."""
    for key, values in record.attributes.items():
        for value in dict.fromkeys(values if isinstance(values, (list, tuple)) else [values]):
            if isinstance(value, str) and value.strip():
                yield key, value


def value_cases(records: Sequence[ItemRecord],
                seed: int = 0) -> dict[tuple[str, str], tuple[list[int], list[int]]]:
    """Return (attribute, value) -> (the indices in records of the items carrying it that are asked for, those
    left out of that request), for the descriptive text values that MIN_CARRIERS to MAX_SHARE of the records
    carry: at most MAX_VALUES values, and MAX_CARRIERS asked-for carriers each."""
    carriers: dict[tuple[str, str], list[int]] = {}
    for index, record in enumerate(records):
        for case in text_values(record):
            carriers.setdefault(case, []).append(index)
    most = max(MIN_CARRIERS, int(MAX_SHARE * len(records)))
    cases = sorted(k for k, held in carriers.items() if MIN_CARRIERS <= len(held) <= most)
    rng = np.random.default_rng(seed)
    if len(cases) > MAX_VALUES:
        cases = [cases[i] for i in sorted(rng.choice(len(cases), MAX_VALUES, replace=False))]
    out = {}
    for case in cases:
        held = carriers[case]
        asked = sorted(rng.choice(held, MAX_CARRIERS, replace=False).tolist()) if len(held) > MAX_CARRIERS else held
        out[case] = (asked, sorted(set(held) - set(asked)))
    return out


def reference_values(records: Iterable[ItemRecord], leave_out: Iterable[str] = ()) -> list[str]:
    """Return the descriptive text values two or more records carry (most carried first, at most
    MAX_REFERENCES), less those in leave_out: the requests an item's hubness is measured against."""
    counts: dict[str, int] = {}
    for record in records:
        for _, value in text_values(record):
            counts[value] = counts.get(value, 0) + 1
    skip = set(leave_out)
    kept = sorted((v for v, n in counts.items() if n >= 2 and v not in skip), key=lambda v: (-counts[v], v))
    return kept[:MAX_REFERENCES]


def damped(scores: np.ndarray, hubness_of_items: np.ndarray) -> np.ndarray:
    """Return request matches with HUB_WEIGHT of each item's hubness taken off."""
    return scores - HUB_WEIGHT * hubness_of_items


def hubness(M: np.ndarray, references: np.ndarray, k: int = HUB_K, chunk: int = 4096) -> np.ndarray:
    """Return each row's mean cosine to its k nearest references (zeros without references)."""
    out = np.zeros(M.shape[0], dtype=np.float32)
    if len(references) == 0 or M.shape[0] == 0:
        return out
    k = min(k, len(references))
    for start in range(0, M.shape[0], chunk):
        S = M[start:start + chunk] @ references.T
        out[start:start + chunk] = np.partition(S, S.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
    return out


def form_recall(records: Sequence[ItemRecord], cases: dict[tuple[str, str], tuple[list[int], list[int]]],
                form: str, encode: Callable[[list[str]], np.ndarray],
                queries: dict[tuple[str, str], np.ndarray], references: np.ndarray) -> tuple[float, float]:
    """Return mean R@10 of the value requests over records, each value left out of its asked-for carriers' texts
    (its other carriers ranked neither for nor against): as matched, and with each item's hubness against the
    reference vectors (the domain's other values, never the ones asked) taken off its match."""
    E = encode([request_text(r, form) for r in records])
    changed = [(case, i) for case, (asked, _) in cases.items() for i in asked]
    vectors = encode([request_text(without_value(records[i], *case), form) for case, i in changed])
    row_of = {key: n for n, key in enumerate(changed)}
    hubs = hubness(E, references)
    plain, with_damping = [], []
    for case, (asked, aside) in cases.items():
        scores = E @ queries[case]
        scores[asked] = vectors[[row_of[(case, i)] for i in asked]] @ queries[case]
        scores[aside] = -np.inf
        plain.append(recall_at_k(topk_indices(scores, 10).tolist(), set(asked), 10))
        with_damping.append(recall_at_k(topk_indices(damped(scores, hubs), 10).tolist(), set(asked), 10))
    return float(np.mean(plain)), float(np.mean(with_damping))


def choose_forms(records: Iterable[ItemRecord], encode: Callable[[list[str]], np.ndarray],
                 seed: int = 0) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Return domain -> the form requests in words are matched against, and what each choice measured
    (`damped`: whether items' hubness is taken off their match in that domain).

    A domain drops names only when its own values (MIN_VALUES or more) are found MARGIN better without them, and
    is damped only when they are then found MARGIN better so.
    """
    by_domain: dict[str, list[ItemRecord]] = {}
    for record in records:
        by_domain.setdefault(record.domain, []).append(record)
    forms: dict[str, str] = {}
    measured: dict[str, dict[str, Any]] = {}
    for domain, members in sorted(by_domain.items()):
        cases = value_cases(members, seed=seed)
        if len(cases) < MIN_VALUES:
            forms[domain] = WHOLE
            measured[domain] = {"values": len(cases)}
            continue
        queries = dict(zip(cases, encode([value for _, value in cases])))
        others = reference_values(members, leave_out=[value for _, value in cases])
        references = encode(others) if others else np.zeros((0, 0), dtype=np.float32)
        whole, whole_damped = form_recall(members, cases, WHOLE, encode, queries, references)
        without_names, described_damped = form_recall(members, cases, DESCRIBED, encode, queries, references)
        forms[domain] = DESCRIBED if without_names > MARGIN * whole else WHOLE
        plain, with_damping = ((without_names, described_damped) if forms[domain] == DESCRIBED
                               else (whole, whole_damped))
        measured[domain] = {"values": len(cases), "whole_r10": whole, "described_r10": without_names,
                            "damped_r10": with_damping, "damped": with_damping > MARGIN * plain}
    return forms, measured
