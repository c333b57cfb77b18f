"""Rankers sharing one contract (see base.Ranker)."""
from __future__ import annotations

from .base import RANKERS, Ranker
from .content import ContentRanker
from .hybrid import HybridRanker
from .linear import EASERanker, ItemKNNRanker, LikedEASERanker, RP3betaRanker
from .mf import MFRanker
from .popularity import PopularityRanker
from .scalable import ALSRanker, HeadEASERanker, LikedHeadEASERanker, SparseItemKNNRanker, SparseRP3betaRanker

RANKERS.update({
    cls.name: cls
    for cls in (PopularityRanker, ItemKNNRanker, EASERanker, LikedEASERanker, RP3betaRanker, MFRanker, ContentRanker,
                HybridRanker, SparseItemKNNRanker, SparseRP3betaRanker, HeadEASERanker, LikedHeadEASERanker, ALSRanker)
})


def make_ranker(name: str, **params) -> Ranker:
    """Return an unfitted ranker by registry name."""
    return RANKERS[name](**params)


__all__ = ["RANKERS", "Ranker", "make_ranker", "PopularityRanker", "ItemKNNRanker", "EASERanker", "LikedEASERanker",
           "RP3betaRanker", "MFRanker", "ContentRanker", "HybridRanker", "SparseItemKNNRanker",
           "SparseRP3betaRanker", "HeadEASERanker", "LikedHeadEASERanker", "ALSRanker"]
