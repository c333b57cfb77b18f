"""Serving: load a trained artifact once per process and answer recommend/explain/similar/rating calls."""
from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .catalog import Catalog
from .embedding import TextRetrieval
from .explain.chains import attach_chain
from .explain.cited import EXAMPLE_DETAIL, SHOWN_DETAIL
from .knowledge import KnowledgeGraph
from .likeness import KindIndex
from .metrics import topk_indices
from .mixing import ConversationMix, MixInputs, dialogue_share, max_magnitude, mix_parts
from .rankers.base import QUERY, Ranker, ScoredVector, load_model
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


EVIDENCE_LIMIT = 5
DIALOGUE_DETAIL = "suggested after it in recorded conversations"
LIKENESS_DETAIL = "the same kind as"
# How many of the named liked items likeness compares with (the conversation's come first in a merged profile).
LIKENESS_ITEMS = 10


@dataclass
class _Fused:
    talk: np.ndarray  # the conversation's named items as a graded vector (zeros when it names none)
    parts: dict[str, np.ndarray]  # mixing.mix_parts: the weighted parts, summing to the score
    hybrid_scale: float  # what the hybrid's raw scores were multiplied by
    named_like: list[int]  # catalog indices of the named liked items likeness compared with

    @property
    def total(self) -> np.ndarray:
        return sum(self.parts.values())  # type: ignore[return-value]


def _mark(found: list[list[Evidence]], kind: str, items: set[str], detail: str) -> None:
    """Set the detail of the `kind` facts about `items`, which says how the text speaks of them: an item the
    assistant suggested earlier (SHOWN_DETAIL) or one the person gave only as an example (EXAMPLE_DETAIL)."""
    for evidence in found:
        for k, e in enumerate(evidence):
            if e.kind == kind and e.item_id in items:
                evidence[k] = replace(e, detail=detail)


def _reweighted(e: Evidence, share: float, detail: str | None = None) -> Evidence:
    detail = detail if detail is not None and e.item_id else e.detail
    return Evidence(kind=e.kind, weight=e.weight * share, item_id=e.item_id, title=e.title, attribute=e.attribute,
                    value=e.value, detail=detail)


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
        self.retrieval: TextRetrieval | None = None  # dialogue retrieval, when the version has a trained encoder
        self.mix = ConversationMix.from_manifest(self.manifest)
        self._learned: Any = None
        self._learned_loaded = False
        self._kinds: KindIndex | None = None
        self._knowledge: KnowledgeGraph | None = None
        self._recorded_cache: np.ndarray | None = None
        self._counts_cache: np.ndarray | None = None
        self._popularity_cache: tuple[np.ndarray, np.ndarray] | None = None

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
            if (path / "retrieval" / "meta.json").exists():
                bundle.retrieval = TextRetrieval.load(path / "retrieval")
            if reuse:
                _BUNDLES[key] = bundle
            return bundle

    # ------------------------------------------------------------ catalog

    @property
    def catalog(self) -> Catalog:
        return self.hybrid.catalog

    @property
    def kinds(self) -> KindIndex:
        """Return the catalog's kind values (rebuilt when items were added)."""
        if self._kinds is None or self._kinds.n_items != self.catalog.n_items:
            self._kinds = KindIndex(self.catalog.records)
        return self._kinds

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
            if self.retrieval is not None:
                self.retrieval.extend([self.catalog.records[i].text() for i in range(len(self.retrieval.E),
                                                                                     self.catalog.n_items)])
            self._kinds = self._knowledge = None  # a replaced record may have changed its kind or entities
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
        scored, fused = self._fused(x, query, profile, constraints)
        scores = (fused.total if fused is not None else scored.scores).astype(np.float64)
        scores[x != 0] = -np.inf
        mask = self.catalog.constraint_mask(constraints)
        if mask is not None:
            scores[~mask] = -np.inf
        size = max(n, candidates or 0)
        top = [int(i) for i in topk_indices(scores, size) if np.isfinite(scores[i])]
        # Evidence for the shown items only, from the scoring already done.
        found = (self._evidence(x, query, top, constraints, scored, fused, profile) if with_evidence
                 else [[] for _ in top])
        sources = dict(scored.sources)
        if fused is not None:  # the parts keep summing to the score a strategy re-weights
            # Nothing known of the person: only the words' match is the model's part (see _fused).
            known = bool(x.any())
            sources = {k: v * fused.hybrid_scale for k, v in sources.items() if known or k == QUERY}
            sources["comention"] = fused.parts["comention"]
            sources["likeness"] = fused.parts["likeness"]
            if "retrieval" in fused.parts:
                sources["retrieval"] = fused.parts["retrieval"]
            sources["popularity"] = sources.get("popularity", 0.0) + fused.parts["popularity"]
        return [ScoredItem(item_id=self.catalog.item_ids[i], score=float(scores[i]), evidence=evidence,
                           sources={k: float(v[i]) for k, v in sources.items()})
                for i, evidence in zip(top, found)]

    def _fused(self, x: np.ndarray, query: str, profile: Profile | None,
               constraints: Constraints | None = None) -> tuple[ScoredVector, _Fused | None]:
        """Return the hybrid's scoring and, when the conversation names items or nothing at all is known of the
        person, the scores as the conversation mix adds them up (see mixing)."""
        scored = self.hybrid.score_vector(x, query)
        discussed = self._discussed(profile)
        talk = self._talk(profile, discussed)
        if talk is None and x.any():  # a known history and nothing named: the trained model as it learned
            return scored, None
        talk = talk if talk is not None else np.zeros(self.catalog.n_items, dtype=np.float32)
        raw = scored.scores.astype(np.float64)
        if not x.any():
            # Nothing known of the person: the collaborative components have only their item biases to say and the
            # learned popularity correction (fitted for people with a history) would rank the least-known items
            # first; the words' match is the model's part, and the mix adds its own popularity.
            raw = scored.sources.get(QUERY, np.zeros_like(raw)).astype(np.float64)
        named_like = self._liked_named(talk, profile)
        mixed = MixInputs(hybrid=raw, named=int((talk > 0).sum()), likeness=self._likeness(named_like, talk),
                          popularity=self._popularity[0], log_popularity=self._popularity[1],
                          discussed=len(set(discussed) | set(profile.suggested if profile else ())),
                          alike=bool(profile and profile.alike),
                          worded=bool(query.strip()) and not x.any() and not (constraints and constraints.include))
        if profile is not None and profile.avoid:
            mixed.leaned_away = self.kinds.carrying(profile.avoid)
        if self.comention is not None:
            self._dialogue_inputs(mixed, talk)
        if self.retrieval is not None and self.mix.retrieval and profile is not None and profile.dialogue_text:
            mixed.retrieval = self.retrieval.scores(profile.dialogue_text)[:self.catalog.n_items].astype(np.float64)
        top = max_magnitude(raw)
        scale = self.mix.hybrid / top if top > 0 else self.mix.hybrid
        return scored, _Fused(talk=talk, parts=mix_parts(self.mix, mixed), hybrid_scale=scale,
                              named_like=named_like)

    @staticmethod
    def _discussed(profile: Profile | None) -> list[str]:
        """Return the items the conversation holds with no stated taste (suggested, or named in passing)."""
        if profile is None:
            return []
        return [i for i in profile.exclude if i not in profile.liked and i not in profile.disliked]

    def _talk(self, profile: Profile | None, discussed: list[str]) -> np.ndarray | None:
        """Return the conversation's items as a graded vector: liked and disliked as stated, the others it named
        or suggested at half weight (what the co-mention model learned its contexts from); None when it names none."""
        if profile is None:
            return None
        named = {i: NEUTRAL_WEIGHT for i in discussed}
        talk = self.catalog.profile_vector(None, Profile(liked=profile.liked, disliked=profile.disliked,
                                                         history=named))
        return talk if talk.any() else None

    def _dialogue_inputs(self, mixed: MixInputs, talk: np.ndarray) -> None:
        """Add what the recorded dialogues say about the named items to the mix's inputs."""
        comention = self.comention
        assert comention is not None
        known = comention.S.shape[0]
        row = sp.csr_matrix(talk[None, :known])
        mixed.links = np.asarray((row @ comention.S).todense(), dtype=np.float64).ravel()
        together = comention.conversation_ease(row)
        mixed.together = together[0].astype(np.float64) if together is not None else None
        mixed.prior = comention.prior.astype(np.float64)
        mixed.share = dialogue_share(talk, self._recorded_suggestions, self._interaction_counts)

    @property
    def _recorded_suggestions(self) -> np.ndarray:
        """Return how many suggestions recorded dialogues made after each item (the co-mention model's rows)."""
        comention = self.comention
        assert comention is not None
        if self._recorded_cache is None:
            # Each co-mention row is r / (r + shrink) of its raw mass: solve for r, the recorded suggestions.
            kept = np.asarray(comention.S.sum(axis=1), dtype=np.float64).ravel()
            self._recorded_cache = float(comention.params["shrink"]) * kept / np.maximum(1.0 - kept, 1e-9)
        return self._recorded_cache

    @property
    def _interaction_counts(self) -> np.ndarray:
        """Return each item's interactions in the catalog (counted once per catalog size)."""
        if self._counts_cache is None or len(self._counts_cache) != self.catalog.n_items:
            self._counts_cache = np.asarray(self.catalog.interactions.getnnz(axis=0), dtype=np.float64)
            self._popularity_cache = None
        return self._counts_cache

    @property
    def _popularity(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the catalog's interactions per item scaled to [0, 1], linearly and on a log scale."""
        counts = self._interaction_counts
        if self._popularity_cache is None:
            top = max(float(counts.max(initial=0.0)), 1.0)
            self._popularity_cache = (counts / top, np.log1p(counts) / np.log1p(top))
        return self._popularity_cache

    def _likeness(self, named_like: list[int], talk: np.ndarray) -> np.ndarray:
        if not named_like:
            return np.zeros(self.catalog.n_items, dtype=np.float64)
        return self.kinds.likeness(named_like, talk[named_like])

    def _liked_named(self, talk: np.ndarray, profile: Profile | None) -> list[int]:
        """Return the catalog indices of the named items likeness compares with: the liked ones in the profile's
        order (the conversation's first), else whatever the conversation named without disliking it."""
        index = self.catalog.item_index
        liked = [index[i] for i in (profile.liked if profile else []) if i in index][:LIKENESS_ITEMS]
        if liked:
            return liked
        return [int(i) for i in np.flatnonzero(talk > 0)[:LIKENESS_ITEMS]]

    def _evidence(self, x: np.ndarray, query: str, items: list[int], constraints: Constraints | None,
                  scored: ScoredVector | None = None, fused: _Fused | None = None,
                  profile: Profile | None = None) -> list[list[Evidence]]:
        """Return the ranker's evidence for items (catalog indices), each followed by the filters it satisfies.
        Items the assistant suggested earlier and the person has not reacted to are cited as such, not as history.

        With the conversation mix, each part's evidence is weighted by its share of the item's positive parts.
        """
        index = np.array(items, dtype=np.int64)
        found = self.hybrid.evidence(x, index, query, scored=scored)
        if fused is not None and len(items):
            said = (self.comention.evidence(fused.talk, index) if self.comention is not None
                    else [[] for _ in items])
            for k, i in enumerate(items):
                share = {name: max(float(part[i]), 0.0) for name, part in fused.parts.items()}
                total = sum(share.values()) or 1.0
                merged = ([_reweighted(e, share["hybrid"] / total) for e in found[k]]
                          + [_reweighted(e, share["comention"] / total, DIALOGUE_DETAIL) for e in said[k]]
                          + self._likeness_evidence(i, fused, share["likeness"] / total)
                          + self._popularity_evidence(i, share["popularity"] / total))
                found[k] = sorted((e for e in merged if e.weight > 0), key=lambda e: -e.weight)[:EVIDENCE_LIMIT]
        for i, evidence in zip(items, found):
            evidence += [Evidence(kind="constraint", weight=0.0, attribute=a, value=v, detail="satisfies your filter")
                         for a, v in self.catalog.satisfied(constraints, i)]
            evidence += attach_chain(self.knowledge, self.catalog.item_ids[i], evidence)
        if profile is not None:
            _mark(found, "history_item", set(profile.suggested) - set(profile.liked) - set(profile.disliked),
                  SHOWN_DETAIL)
            _mark(found, "liked_item", set(profile.examples), EXAMPLE_DETAIL)
        return found

    @property
    def knowledge(self) -> KnowledgeGraph:
        """Return the catalog's knowledge graph, for explanations as chains (rebuilt when items were added)."""
        if self._knowledge is None or self._knowledge.n_items != self.catalog.n_items:
            self._knowledge = KnowledgeGraph.build(self.catalog.records)
        return self._knowledge

    def _popularity_evidence(self, item: int, share: float) -> list[Evidence]:
        """Return "liked by many" with the item's interaction count, when popularity lifted it."""
        if share <= 0:
            return []
        count = int(self._interaction_counts[item])
        return [Evidence(kind="popularity", weight=share, item_id=self.catalog.item_ids[item],
                         detail=f"{count} positive events")]

    def _likeness_evidence(self, item: int, fused: _Fused, share: float) -> list[Evidence]:
        """Return the kind the item shares with the named item it is most like, as one attribute match."""
        if share <= 0 or not fused.named_like:
            return []
        best = self.kinds.closest(item, fused.named_like)
        if best is None:
            return []
        named, attribute, shared = best
        record = self.catalog.records[named]
        return [Evidence(kind="same_kind", weight=share, item_id=record.item_id, title=record.title,
                         attribute=attribute, value=shared, detail=LIKENESS_DETAIL)]

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
            scored, fused = self._fused(x, query, profile, constraints)
            found = self._evidence(x, query, [self.catalog.item_index[i] for i in known], constraints, scored, fused,
                                   profile)
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
