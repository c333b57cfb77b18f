"""Content: cosine similarity of item text embeddings to the user's items and to the query text.

The query text is matched against each item's text in the form its domain reads best (request_text: the whole
text, or without the name where names are noise to words), by the request embedder (the item embedder unless
set; a version with a fine-tuned item encoder matches words with the packaged one). In domains where it finds
the catalog's own values better (`damping` "auto"), each item's hubness, how near it sits to every request
anyway, is taken off its match.

Above ann.ANN_MIN_ITEMS items (20k) the similarities come from an approximate nearest-neighbour index: each
profile's (and request's) `ann_candidates` nearest items get their exact cosine, every other item 0, as
the neighbourhood models keep only each item's k nearest. Explanations decompose that same term.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..ann import ANN_MIN_ITEMS, NearestItems, uses_ann
from ..data import InteractionData
from ..embedding import Embedder, make_embedder
from ..request_text import DESCRIBED, FORMS, WHOLE, choose_forms, damped, hubness, reference_values, request_text
from .base import HISTORY, QUERY, ItemParts, Ranker, ScoredVector, history_indices, load_arrays, one_row, save_arrays


class ContentRanker(Ranker):
    """score(i) = e_i . (sum_j x_j e_j / sum_j |x_j|) + e_i . embed(query); linear in history and query."""

    name = "content"
    uses_text = True

    def __init__(self, embedder: dict[str, Any] | None = None, embedder_obj: Embedder | None = None,
                 ann_min_items: int | None = ANN_MIN_ITEMS, ann_candidates: int = 500,
                 request_text: str = WHOLE, request_embedder: dict[str, Any] | None = None,
                 request_embedder_obj: Embedder | None = None, damping: str = "off", **params) -> None:
        if request_text not in FORMS:
            raise ValueError(f"unknown request_text {request_text!r}; expected one of {', '.join(FORMS)}")
        if damping not in ("auto", "off"):
            raise ValueError(f"unknown damping {damping!r}; expected auto or off")
        super().__init__(embedder=embedder or (embedder_obj.config() if embedder_obj else {"kind": "sentence"}),
                         ann_min_items=ann_min_items, ann_candidates=ann_candidates, request_text=request_text,
                         request_embedder=request_embedder or (
                             request_embedder_obj.config() if request_embedder_obj else None), damping=damping,
                         **params)
        self._embedder = embedder_obj
        self._request_embedder = request_embedder_obj
        self.E: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self.ann: NearestItems | None = None  # built above ann_min_items items (see uses_ann)
        self._embedded_ids: list[str] | None = None  # the catalog's item ids when E was computed
        # What requests in words are matched against: its own vectors only where they differ from E.
        self.request_forms: dict[str, str] = {}  # domain -> WHOLE or DESCRIBED (chosen at fit under "auto")
        self.request_measures: dict[str, dict[str, Any]] = {}
        self.R: np.ndarray | None = None
        self.request_ann: NearestItems | None = None
        # Each item's hubness in damped domains, else 0 (None: nothing damped); request_text.damped takes it off.
        self.hubness: np.ndarray | None = None
        self.references: np.ndarray | None = None  # the reference requests' vectors, for items added later

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.params["embedder"])
        return self._embedder

    @property
    def request_embedder(self) -> Embedder:
        if self._request_embedder is None:
            setting = self.params.get("request_embedder")
            self._request_embedder = make_embedder(setting) if setting else self.embedder
        return self._request_embedder

    def _fit(self, data: InteractionData) -> None:
        # Refits on the same catalog reuse the embeddings: item text does not change with interactions.
        if self._embedded_ids != self.catalog.item_ids:
            self.E = self.embedder.encode([r.text() for r in self.catalog.records])
            self._embedded_ids = list(self.catalog.item_ids)
            self.ann = NearestItems.build(self.E) if uses_ann(len(self.E), self.params["ann_min_items"]) else None
            self._fit_requests()

    def _fit_requests(self) -> None:
        """Choose each domain's request form (under "auto") and embed the request texts where they differ."""
        records = self.catalog.records
        setting = self.params["request_text"]
        if setting == "auto":
            self.request_forms, self.request_measures = choose_forms(records, self.request_embedder.encode)
        else:
            self.request_forms = {r.domain: setting for r in records}
        if not self._separate_requests():
            self.R, self.request_ann = None, None
        else:
            self.R = self.request_embedder.encode([self._request_text(r) for r in records])
            self.request_ann = NearestItems.build(self.R) if self.ann is not None else None
        self._fit_damping()

    def _damped_domains(self) -> set[str]:
        if self.params["damping"] != "auto":
            return set()
        return {domain for domain, m in self.request_measures.items() if m.get("damped")}

    def _fit_damping(self) -> None:
        references = reference_values(self.catalog.records) if self._damped_domains() else []
        if not references:
            self.hubness, self.references = None, None
            return
        self.references = self.request_embedder.encode(references)
        self.hubness = self._hubness(self.catalog.records, self._request_matrix(), self.references)

    def _request_matrix(self) -> np.ndarray:
        return self.R if self.R is not None else self.E

    def _hubness(self, records, M: np.ndarray, references: np.ndarray) -> np.ndarray:
        domains = self._damped_domains()
        return hubness(M, references) * np.array([r.domain in domains for r in records], dtype=np.float32)

    def _separate_requests(self) -> bool:
        return bool(self.params.get("request_embedder")) or DESCRIBED in self.request_forms.values()

    def _request_text(self, record) -> str:
        return request_text(record, self.request_forms.get(record.domain, WHOLE))

    def similarities(self, V: np.ndarray, *, requests: bool = False) -> np.ndarray:
        """Return the cosine of each row of V to every item (to the items' request vectors with `requests`).

        With an index: exact for the row's `ann_candidates` nearest items and 0 elsewhere; items added
        after the index was built (few, see extend) are always compared exactly.
        """
        E, ann = (self.R, self.request_ann) if requests and self.R is not None else (self.E, self.ann)
        if ann is None:  # one row as a matrix-vector product: 2.5x faster than a 1 x n matrix product
            return (E @ V[0])[None, :] if V.shape[0] == 1 else V @ E.T
        V = np.asarray(V, dtype=np.float32)
        out = np.zeros((V.shape[0], E.shape[0]), dtype=np.float32)
        for row, found in enumerate(ann.search(V, int(self.params["ann_candidates"]))):
            found = found[found >= 0]
            out[row, found] = E[found] @ V[row]
        if E.shape[0] > ann.size:
            out[:, ann.size:] = V @ E[ann.size:].T
        return out

    def extend(self, new_indices: list[int]) -> None:
        if not new_indices:
            return
        records = [self.catalog.records[i] for i in new_indices]
        self.E = np.vstack([self.E, self.embedder.encode([r.text() for r in records])])
        if self.R is not None:  # a new item's domain reads requests as the domain's items do
            self.R = np.vstack([self.R, self.request_embedder.encode([self._request_text(r) for r in records])])
        if self.hubness is not None and self.references is not None:
            added = self._request_matrix()[len(self.hubness):]
            self.hubness = np.concatenate([self.hubness, self._hubness(records, added, self.references)])
        self._embedded_ids = list(self.catalog.item_ids)

    def history_rows(self, X: sp.csr_matrix) -> np.ndarray:
        """Return similarity of every item to each row's weighted mean item embedding."""
        n = self.E.shape[0]
        X = X if X.shape[1] == n else X[:, :n]
        if X.shape[0] == 1:
            vals = X.data.astype(np.float32)
            prof = (vals @ self.E[X.indices]) / max(float(np.abs(vals).sum()), 1e-12)
            return self.similarities(prof[None, :])
        mass = np.asarray(abs(X).sum(axis=1)).ravel()
        prof = np.asarray(X @ self.E) / np.maximum(mass, 1e-12)[:, None]
        return self.similarities(prof)

    def query_rows(self, queries: list[str] | None, n_rows: int) -> np.ndarray:
        """Return similarity of every item to each query text (zeros for empty queries)."""
        out = np.zeros((n_rows, self.E.shape[0]), dtype=np.float32)
        if not queries:
            return out
        live = [i for i, q in enumerate(queries) if q and q.strip()]
        if live:
            Q = self.request_embedder.encode([queries[i] for i in live])
            S = self.similarities(Q, requests=True)
            if self.hubness is not None:  # with an index, only where a match was computed
                indexed = (self.request_ann if self.R is not None else self.ann) is not None
                S = damped(S, self.hubness[None, :] * ((S != 0) if indexed else 1.0))
            out[live] = S
        return out

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        return self.history_rows(X) + self.query_rows(queries, X.shape[0])

    def score_terms(self, X: sp.csr_matrix, queries: list[str] | None = None) -> dict[str, np.ndarray]:
        """Return the history term and, when any row has request text, the query term (both padded)."""
        terms = {HISTORY: self._pad(self.history_rows(self.read_signal(sp.csr_matrix(X, dtype=np.float32))))}
        if queries and any(q and q.strip() for q in queries):
            terms[QUERY] = self._pad(self.query_rows(queries, X.shape[0]))
        return terms

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        nz = history_indices(x)
        x = self.read_vector(x)
        n = self.E.shape[0]
        items = np.asarray(items, dtype=np.int64)
        parts = ItemParts.zeros(len(nz), len(items))
        parts.similarity = np.zeros((len(nz), len(items)), dtype=np.float32)
        keep, cols = nz < n, items < n
        if keep.any() and cols.any():
            rows = nz[keep]
            mass = max(float(np.abs(x[:n]).sum()), 1e-12)
            sub = np.zeros((len(rows), len(items)), dtype=np.float32)
            sub[:, cols] = self.E[rows] @ self.E[items[cols]].T
            if self.ann is not None:  # items outside the profile's nearest ones have no history term
                history = scored.terms[HISTORY] if scored is not None else \
                    self._pad(self.history_rows(one_row(x)))[0]
                sub[:, history[items] == 0] = 0.0
            parts.similarity[keep] = sub
            parts.content[keep] = x[rows][:, None] * sub / mass
        if query_text and query_text.strip():
            row = scored.terms[QUERY] if scored is not None and QUERY in scored.terms else \
                self._pad(self.query_rows([query_text], 1))[0]
            parts.query = row[items]
        return parts

    def _save_state(self, path: Path) -> None:
        extra = {"R": self.R} if self.R is not None else {}
        if self.hubness is not None and self.references is not None:
            extra.update(hubness=self.hubness, references=self.references)
        save_arrays(path, E=self.E, **extra)
        if self.ann is not None:
            self.ann.save(path)
        if self.request_ann is not None:
            (path / "requests").mkdir(exist_ok=True)
            self.request_ann.save(path / "requests")
        (path / "embedded_ids.json").write_text(json.dumps(self._embedded_ids))
        (path / "requests.json").write_text(json.dumps({"forms": self.request_forms,
                                                        "measured": self.request_measures}))

    def _load_state(self, path: Path) -> None:
        arrays = load_arrays(path)
        self.E = arrays["E"]
        self.R = arrays["R"] if "R" in arrays else None
        self.hubness = arrays.get("hubness")  # absent before damping: none
        self.references = arrays.get("references")
        self.ann = NearestItems.load(path)
        self.request_ann = NearestItems.load(path / "requests") if self.R is not None else None
        self._embedded_ids = json.loads((path / "embedded_ids.json").read_text())
        requests = path / "requests.json"  # absent in versions trained before request forms: whole texts
        stored = json.loads(requests.read_text()) if requests.exists() else {}
        self.request_forms, self.request_measures = stored.get("forms", {}), stored.get("measured", {})
