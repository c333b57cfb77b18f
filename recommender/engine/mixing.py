"""How a conversation's evidence adds up: the trained model, the recorded dialogues, likeness and priors.

One place for the rule, used by serving (`RecommenderBundle`) and by the benchmarks that tune it. Each source
counts as much as the conversation and the data support it:
- the trained model's scores (the catalog's own behaviour: the neighbours of the named items) always count;
- what recorded dialogues add (what people suggested after the named items, items that came up in the same
  conversations) counts in proportion to the dialogues' share of what is known about the named items:
  r_d / (r_d + r_c), r_d the suggestions recorded after an item and r_c its interactions in the catalog. A film
  the catalog's people rated 300 times and recorded dialogues named 30 times is mostly the catalog's;
- with one named item ("something like X") the request is about that item: likeness (the overlap of
  `rules.KIND_ATTRIBUTES`, e.g. genres) counts strongly and items that are everyone's neighbour are damped by
  their log popularity, so the same few films do not end every list; both in proportion to the catalog's
  share of what is known about the item;
- "something like A and B" asks the same of several items: likeness to them and the hub damping as for one;
- with several named items and no likeness asked for ("I love A, B and C, what else?") the person describes a
  taste: a few items are thin evidence, so what the catalog's people like at all (its popularity) weighs in, with
  a little likeness;
- with nothing named and no history, what people are suggested in recorded conversations and what the
  catalog's people like make the list; once something is named the dialogues' prior is only a tie-breaker;
- with nothing named but words of content and no kind asked for ("a film for a rainy Sunday"), the words lead:
  the prior and popularity only order the items the words match better than the median item does;
- kinds the words refuse softly ("less violent": crime films and thrillers) lose what likeness to one named item
  would give, so the list leans away from them without filtering them out;
- once the assistant has suggested items (whatever the person made of them) or the conversation holds titles
  brought up in passing without a stated taste, it has become the kind of exchange recorded dialogues learned
  from, and what they say comes next counts in full whatever the catalog knows of the items, with the dialogues'
  prior and the popularity a taste borrows at their own weights (`prior_discussed`, `popularity_discussed`); while
  the request still asks for items like the named ones ("Any others?" after "something like X"), likeness and the
  hub damping keep `catalog_in_discussion` of their weight. A single request ("something like X", "I love A, B
  and C") has none of this, so its list stays the catalog's.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ConversationMix:
    """The weights of the parts, chosen on several objectives at once (ReDial development recall, named favourites
    against EASE, variety, likeness) from the grid `python -m benchmarks.person --tune` replays on their tuning
    halves: the best ReDial recall among the weightings that keep variety within its target."""

    hybrid: float = 1.0
    links: float = 2.0
    together: float = 4.0
    likeness_one: float = 2.5
    hub_penalty: float = 0.2
    likeness_several: float = 0.3
    popularity_several: float = 1.2
    prior: float = 0.02
    prior_alone: float = 2.0
    popularity_alone: float = 0.5
    # How sharply the words' match gates the priors when the words lead (see words_gate). 2 since requests in words
    # meet films' texts without titles: a film with little text but its genres sits just above the median match
    # of most requests, and at 1 the dialogues' favourite, It (2017), ended 7 of 30 free-text lists
    # (docs/benchmarks.md, "What a person sees").
    words_gate: float = 2.0
    share_in_discussion: float = 1.0
    # Once the assistant has suggested items: the dialogues' prior, and the popularity a taste of several named
    # items borrows (None: as in a single request).
    prior_discussed: float | None = 1.0
    popularity_discussed: float | None = 0.4
    # Once the assistant has suggested items, how much the catalog's side (likeness to the named items, the hub
    # damping) still counts at least while the request asks for items like them ("Any others?" after "something
    # like X"), however fully the recorded dialogues count.
    catalog_in_discussion: float = 1.0
    # Dialogue retrieval: the trained text encoder's cosine between the whole dialogue and each item's text (only
    # versions with a jointly trained encoder have it). 0.5 of {0.5, 1, 2} on the ReDial tuning half; 1 and 2
    # cost R@50 (docs/benchmarks.md, "The REST path with and without the jointly trained encoder").
    retrieval: float = 0.5
    # Leaning away from the kinds the words refuse softly ("less violent": crime films and thrillers), as strongly
    # as likeness to one named item leans towards its kind.
    lean_away: float = 2.5

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> ConversationMix:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (manifest.get("conversation_mix") or {}).items() if k in known})


def max_magnitude(values: np.ndarray) -> float:
    """Return the largest |value| (0 for an empty array)."""
    return float(np.abs(values).max()) if values.size else 0.0


def unit_scaled(values: np.ndarray) -> np.ndarray:
    """Return values scaled to unit maximum magnitude (all-zero values stay as they are)."""
    top = max_magnitude(values)
    return values / top if top > 0 else values


def above_median(values: np.ndarray) -> np.ndarray:
    """Return 1 for the largest value, falling linearly to 0 at the median and below (all 1 when flat)."""
    middle, top = (float(np.median(values)), float(values.max())) if values.size else (0.0, 0.0)
    if top <= middle:
        return np.ones_like(values, dtype=np.float64)
    return np.clip((values - middle) / (top - middle), 0.0, 1.0)


def words_gate(match: np.ndarray, sharpness: float) -> np.ndarray:
    """Return 1 for the item the words match best, falling to 0 at the median item's match, raised to sharpness:
    what everyone watches then orders what the words found and never outranks it."""
    return above_median(match) ** sharpness


def dialogue_share(talk: np.ndarray, dialogue_counts: np.ndarray, catalog_counts: np.ndarray) -> float:
    """Return the |weight|-weighted mean over the named items of r_d / (r_d + r_c) (0 when nothing is named)."""
    weights = np.abs(talk)
    total = float(weights.sum())
    if total <= 0:
        return 0.0
    n = len(dialogue_counts)
    r_d, r_c = dialogue_counts, catalog_counts[:n]
    share = np.divide(r_d, r_d + r_c, out=np.zeros(n, dtype=np.float64), where=(r_d + r_c) > 0)
    return float(weights[:n] @ share) / total


@dataclass
class MixInputs:
    """What the mix reads for one request; the dialogue arrays are None when no dialogues were recorded."""

    hybrid: np.ndarray  # the trained model's scores
    named: int  # how many items the conversation names without disliking them
    likeness: np.ndarray  # mean kind overlap with the named liked items
    log_popularity: np.ndarray  # the catalog's interactions per item, log-scaled to [0, 1]
    popularity: np.ndarray  # the catalog's interactions per item, scaled to [0, 1]
    links: np.ndarray | None = None
    together: np.ndarray | None = None
    prior: np.ndarray | None = None
    share: float = 0.0
    discussed: int = 0  # items the assistant suggested, or the conversation holds with no stated taste
    alike: bool = False  # the request asks for items like the named ones ("something like A and B")
    worded: bool = False  # nothing named, words of content and no kind asked for: the words lead
    retrieval: np.ndarray | None = None  # the dialogue's cosine to each item's text (a trained encoder's)
    leaned_away: np.ndarray | None = None  # each item's share of the kind values the words refuse softly

    def dialogue_weight(self, mix: ConversationMix) -> float:
        """Return how much what recorded dialogues say about the named items counts (see the module's rule)."""
        if self.links is None:  # no recorded dialogues: the catalog's side is all there is
            return 0.0
        return max(self.share, mix.share_in_discussion) if self.discussed else self.share


def mix_parts(mix: ConversationMix, inp: MixInputs) -> dict[str, np.ndarray]:
    """Return the weighted parts of each item's score (they sum to it): hybrid, comention, likeness, popularity."""
    n_items = len(inp.hybrid)
    zeros = np.zeros(n_items, dtype=np.float64)
    # How much the priors count per item: fully, unless the words lead (see words_gate).
    gate = words_gate(inp.hybrid.astype(np.float64), mix.words_gate) if inp.worded and not inp.named else np.ones(n_items)
    parts = {"hybrid": mix.hybrid * unit_scaled(inp.hybrid.astype(np.float64)), "comention": zeros.copy(),
             "likeness": zeros.copy(), "popularity": zeros.copy()}
    if inp.links is not None and inp.prior is not None:
        dialogue = zeros.copy()
        known = len(inp.links)  # items added after training are unknown to the recorded dialogues
        dialogue[:known] = mix.links * unit_scaled(inp.links)
        if inp.together is not None:
            dialogue[:known] += mix.together * unit_scaled(inp.together)
        dialogue *= inp.dialogue_weight(mix)
        prior_weight = mix.prior_alone if inp.named == 0 else mix.prior
        if inp.discussed and mix.prior_discussed is not None:
            prior_weight = mix.prior_discussed
        dialogue[:known] += prior_weight * inp.prior * gate[:known]
        parts["comention"] = dialogue
    if inp.retrieval is not None and mix.retrieval:
        # Every text sits at some cosine to a dialogue (0.1-0.6 for this encoder): only the part above the
        # catalog's median says the dialogue and the item belong together.
        parts["retrieval"] = mix.retrieval * above_median(inp.retrieval.astype(np.float64))
    if inp.named == 0:
        parts["popularity"] = mix.popularity_alone * inp.popularity * gate
    elif inp.named == 1 or inp.alike:
        # Likeness and the hub damping speak for the catalog's side: where recorded conversations know the
        # named item better than the catalog does, what they suggest after it counts instead.
        catalog_side = 1.0 - inp.dialogue_weight(mix)
        if inp.discussed and inp.alike:
            catalog_side = max(catalog_side, mix.catalog_in_discussion)
        parts["likeness"] = mix.likeness_one * catalog_side * inp.likeness
        parts["popularity"] = -mix.hub_penalty * catalog_side * inp.log_popularity
    else:
        parts["likeness"] = mix.likeness_several * inp.likeness
        borrowed = mix.popularity_discussed if inp.discussed and mix.popularity_discussed is not None \
            else mix.popularity_several
        parts["popularity"] = borrowed * inp.popularity
    if inp.leaned_away is not None:
        parts["likeness"] = parts["likeness"] - mix.lean_away * inp.leaned_away
    return parts
