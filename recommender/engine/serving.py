"""Serving: load a trained artifact once per process and answer recommend/explain/similar/rating calls."""
from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .catalog import Catalog
from .metrics import topk_indices
from .rankers.base import Ranker, ScoredVector, load_model
from .rankers.comention import CoMentionRanker
from .rating import RatingModel
from .rules import NEUTRAL_WEIGHT
from .types import Constraints, Evidence, ItemRecord, Profile, ScoredItem
from .understanding.learned_reading import LearnedReading

_BUNDLES: dict[str, RecommenderBundle] = {}
_LOCK = threading.Lock()

try:  # one BLAS thread per request: single-row products lose more to thread hand-offs than they gain
    from threadpoolctl import ThreadpoolController

    _THREADS = ThreadpoolController()
except ImportError:  # optional; serving works without it, only slower on a busy machine
    _THREADS = None


def _one_blas_thread():
    return _THREADS.limit(limits=1, user_api="blas") if _THREADS is not None else contextlib.nullcontext()


@dataclass(frozen=True)
class ConversationMix:
    """How the co-mention model joins the hybrid when a conversation names items.

    Each part is scaled to unit maximum over the catalog, then weighted: the hybrid's scores, the co-mention
    model's scores for the named items (what people suggested after them, and how often an item is suggested
    at all, as that model weighs them), optionally that prior again on its own, and the co-mention model's
    conversation EASE (items that come up in the same conversations as the named ones) where it was fitted.
    """

    # The best R@10 + R@50 of `python -m benchmarks.conversations --tune-pipeline` (ReDial training slice).
    hybrid: float = 0.1
    links: float = 1.0
    prior: float = 0.25
    together: float = 1.0

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> ConversationMix:
        return cls(**(manifest.get("conversation_mix") or {}))


EVIDENCE_LIMIT = 5
DIALOGUE_DETAIL = "suggested after it in recorded conversations"


@dataclass
class _Fused:
    talk: np.ndarray  # the conversation's named items as a graded vector
    hybrid: np.ndarray  # the hybrid's weighted, scaled part of each item's score
    dialogue: np.ndarray  # the co-mention model's weighted, scaled part
    hybrid_scale: float  # what the hybrid's raw scores were multiplied by

    @property
    def total(self) -> np.ndarray:
        return self.hybrid + self.dialogue


def _reweighted(e: Evidence, share: float, detail: str | None = None) -> Evidence:
    detail = detail if detail is not None and e.item_id else e.detail
    return Evidence(kind=e.kind, weight=e.weight * share, item_id=e.item_id, title=e.title, attribute=e.attribute,
                    value=e.value, detail=detail)


def max_magnitude(values: np.ndarray) -> float:
    """Return the largest |value| (0 for an empty array)."""
    return float(np.abs(values).max()) if values.size else 0.0


def unit_scaled(values: np.ndarray) -> np.ndarray:
    """Return values scaled to unit maximum magnitude (all-zero values stay as they are)."""
    top = max_magnitude(values)
    return values / top if top > 0 else values


class RecommenderBundle:
    """A trained ranker (the hybrid) and optional rating model with their catalog; cheap to query after load.

    Served evidence and `explain` both come from the ranker's `evidence` (one decomposition, see rankers.base).
    """

    def __init__(self, hybrid: Ranker, rating: RatingModel | None = None,
                 manifest: dict[str, Any] | None = None, path: Path | None = None) -> None:
        self.hybrid = hybrid
        self.rating = rating
        self.manifest = manifest or {}
        self.path = path
        self._lock = threading.Lock()
        # Learned from recorded dialogues, when the version was trained with some (see conversation_recommend).
        self.comention: CoMentionRanker | None = None
        self.mix = ConversationMix.from_manifest(self.manifest)
        self._learned: Any = None
        self._learned_loaded = False

    @property
    def learned(self) -> LearnedReading | None:
        """The learned readings of reactions and opinions this version carries (loaded on first use), or None."""
        if not self._learned_loaded:
            with self._lock:
                if not self._learned_loaded and self.path is not None:
                    self._learned = LearnedReading.load(self.path)
                self._learned_loaded = True
        return self._learned

    @classmethod
    def load(cls, path: Path | str, *, reuse: bool = True) -> RecommenderBundle:
        """Return the bundle stored under path; the same object again for the same path when reuse is set."""
        path = Path(path).resolve()
        key = str(path)
        with _LOCK:
            if reuse and key in _BUNDLES:
                return _BUNDLES[key]
            manifest = json.loads((path / "manifest.json").read_text())
            catalog = Catalog.load(path / "hybrid")
            hybrid = load_model(path / "hybrid", catalog)
            rating = RatingModel.load(path / "rating") if (path / "rating" / "rating.json").exists() else None
            bundle = cls(hybrid, rating, manifest, path)
            if (path / "comention" / "meta.json").exists():
                bundle.comention = CoMentionRanker.load_model(path / "comention", catalog)
            if reuse:
                _BUNDLES[key] = bundle
            return bundle

    # ------------------------------------------------------------ catalog

    @property
    def catalog(self) -> Catalog:
        return self.hybrid.catalog

    @property
    def items(self) -> dict[str, ItemRecord]:
        """Return item id -> record for every servable item."""
        return {r.item_id: r for r in self.catalog.records}

    def has_item(self, item_id: str) -> bool:
        return item_id in self.catalog.item_index

    def add_items(self, records: list[ItemRecord]) -> list[str]:
        """Add (or update) items; new items get text embeddings so they are recommendable cold. Returns new ids."""
        with self._lock:
            new = self.catalog.add_items(records)
            self.hybrid.extend(new)
        return [self.catalog.item_ids[i] for i in new]

    # ------------------------------------------------------------ queries

    def _vector(self, user_key: str | None, profile: Profile | None) -> tuple[np.ndarray, str]:
        x = self.catalog.profile_vector(user_key, profile)
        x.flags.writeable = False  # one request's vector, read by every component (see rankers.base.history_indices)
        return x, (profile.query_text if profile else "")

    def recommend(self, *, user_key: str | None = None, profile: Profile | None = None,
                  constraints: Constraints | None = None, n: int = 10, candidates: int | None = None,
                  with_evidence: bool = True) -> list[ScoredItem]:
        """Return the top max(n, candidates) unseen items satisfying constraints, with evidence and sources.

        Unknown users and unknown item ids in the profile are ignored: with nothing known, the
        hybrid's popularity term decides.
        """
        with _one_blas_thread():
            return self._recommend(user_key, profile, constraints, n, candidates, with_evidence)

    def _recommend(self, user_key, profile, constraints, n, candidates, with_evidence) -> list[ScoredItem]:
        x, query = self._vector(user_key, profile)
        scored, fused = self._fused(x, query, profile)
        scores = (fused.total if fused is not None else scored.scores).astype(np.float64)
        scores[x != 0] = -np.inf
        mask = self.catalog.constraint_mask(constraints)
        if mask is not None:
            scores[~mask] = -np.inf
        size = max(n, candidates or 0)
        top = [int(i) for i in topk_indices(scores, size) if np.isfinite(scores[i])]
        # Evidence for the shown items only, from the scoring already done.
        found = self._evidence(x, query, top, constraints, scored, fused) if with_evidence else [[] for _ in top]
        sources = dict(scored.sources)
        if fused is not None:  # the parts keep summing to the score a strategy re-weights
            sources = {k: v * fused.hybrid_scale for k, v in sources.items()}
            sources["comention"] = fused.dialogue
        return [ScoredItem(item_id=self.catalog.item_ids[i], score=float(scores[i]), evidence=evidence,
                           sources={k: float(v[i]) for k, v in sources.items()})
                for i, evidence in zip(top, found)]

    def _fused(self, x: np.ndarray, query: str, profile: Profile | None) -> tuple[ScoredVector, _Fused | None]:
        """Return the hybrid's scoring and, when a conversation names items and this version learned from
        dialogues, the scores with the co-mention model mixed in (see ConversationMix)."""
        scored = self.hybrid.score_vector(x, query)
        if self.comention is None or profile is None:
            return scored, None
        # The conversation's items: liked and disliked as stated; the others it named or suggested (what the
        # co-mention model learned its contexts from) count half. With none yet, what people suggest at all
        # (the model's prior) still says more about a conversation than the hybrid's popularity does.
        named = {i: NEUTRAL_WEIGHT for i in profile.exclude if i not in profile.liked and i not in profile.disliked}
        talk = self.catalog.profile_vector(None, Profile(liked=profile.liked, disliked=profile.disliked,
                                                         history=named))
        row = sp.csr_matrix(talk[None, :])
        said = self.comention.score_matrix(row)[0].astype(np.float64)
        dialogue = self.mix.links * unit_scaled(said) + self.mix.prior * self.comention.prior.astype(np.float64)
        together = self.comention.conversation_ease(row)
        if together is not None:  # items that come up in the same conversations as the ones named
            dialogue += self.mix.together * unit_scaled(together[0].astype(np.float64))
        raw = scored.scores.astype(np.float64)
        top = max_magnitude(raw)
        scale = self.mix.hybrid / top if top > 0 else self.mix.hybrid
        return scored, _Fused(talk=talk, hybrid=raw * scale, dialogue=dialogue, hybrid_scale=scale)

    def _evidence(self, x: np.ndarray, query: str, items: list[int], constraints: Constraints | None,
                  scored: ScoredVector | None = None, fused: _Fused | None = None) -> list[list[Evidence]]:
        """Return the ranker's evidence for items (catalog indices), each followed by the filters it satisfies.

        With the co-mention model mixed in, each model's evidence is weighted by its part of the item's score.
        """
        index = np.array(items, dtype=np.int64)
        found = self.hybrid.evidence(x, index, query, scored=scored)
        if fused is not None and self.comention is not None and len(items):
            said = self.comention.evidence(fused.talk, index)
            for k, i in enumerate(items):
                h, d = abs(float(fused.hybrid[i])), abs(float(fused.dialogue[i]))
                total = (h + d) or 1.0
                merged = ([_reweighted(e, h / total) for e in found[k]]
                          + [_reweighted(e, d / total, DIALOGUE_DETAIL) for e in said[k]])
                found[k] = sorted(merged, key=lambda e: -e.weight)[:EVIDENCE_LIMIT]
        for i, evidence in zip(items, found):
            evidence += [Evidence(kind="constraint", weight=0.0, attribute=a, value=v, detail="satisfies your filter")
                         for a, v in self.catalog.satisfied(constraints, i)]
        return found

    def conversation_recommend(self, *, profile: Profile, n: int = 10, constraints: Constraints | None = None,
                               with_evidence: bool = True) -> list[ScoredItem]:
        """Return what people suggested next in recorded dialogues that named the profile's items (co-mention
        model); empty when this version has no such model. Never returns a named item or one breaking constraints."""
        if self.comention is None:
            return []
        with _one_blas_thread():
            out = self.comention.recommend(profile=profile, n=n, constraints=constraints)
            if with_evidence:
                for scored in out:
                    scored.evidence = self.comention.explain(scored.item_id, profile=profile)
            return out

    def evidence_for(self, item_ids: list[str], *, user_key: str | None = None, profile: Profile | None = None,
                     constraints: Constraints | None = None) -> dict[str, list[Evidence]]:
        """Return the evidence for just these items (unknown ids left out), as recommend would attach it."""
        with _one_blas_thread():
            x, query = self._vector(user_key, profile)
            known = [item_id for item_id in item_ids if item_id in self.catalog.item_index]
            scored, fused = self._fused(x, query, profile)
            found = self._evidence(x, query, [self.catalog.item_index[i] for i in known], constraints, scored, fused)
        return dict(zip(known, found))

    def explain(self, *, item_id: str, user_key: str | None = None, profile: Profile | None = None,
                limit: int = 5) -> list[Evidence]:
        """Return the evidence behind item_id's score for this user/profile (empty for unknown items)."""
        return self.hybrid.explain(item_id, user_key=user_key, profile=profile, limit=limit)

    def similar_items(self, item_id: str, n: int = 10) -> list[ScoredItem]:
        """Return items the hybrid scores highest for someone who liked only item_id."""
        if not self.has_item(item_id):
            return []
        return self.recommend(profile=Profile(liked=[item_id]), n=n)

    def predict_rating(self, user_key: str, item_id: str) -> float | None:
        """Return the predicted rating (global/item/user effects where unknown); None without a rating model."""
        if self.rating is None:
            return None
        u = self.catalog.user_index.get(user_key, -1)
        i = self.catalog.item_index.get(item_id, -1)
        return float(self.rating.predict(np.array([u]), np.array([i]))[0])
