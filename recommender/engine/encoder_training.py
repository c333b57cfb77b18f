"""Joint training of the text encoder: one MiniLM taught what people suggest in dialogues and like together.

The packaged all-MiniLM-L6-v2 knows English, not this catalog. Fine-tuning it with in-batch negatives (the
loss of sentence-transformers' MultipleNegativesRankingLoss, temperature 1/20) on two kinds of pairs makes
its vectors carry the catalog's behaviour:
- dialogue -> item: the dialogue so far (both sides' turns, as text, the latest kept) against the text of an
  item suggested next, from recorded dialogues (never the development split) and the product's own chats
  where a shown item was liked;
- item <-> item: the texts of two items one person liked;
- phrase -> item: a descriptive value several items share (a genre, a tag) against the text of an item that
  carries it, the value removed from that text: free words learn to find the items they describe even where
  no one wrote the words on them.
Optionally (`mlm_weight`, Recformer's lambda) a masked-language loss on the catalog's own texts is added, and
(`anchor_weight`) a penalty that keeps the catalog's phrases near the packaged encoder's vectors.

The cost is bounded: only the top `trainable_layers` transformer layers learn, contexts are cut to
`context_tokens` tokens and item texts to `item_tokens`, and optimisation stops at `budget_s` seconds
whatever the epoch count says. The frozen lower layers give a text the same states at every step, so they
run once per text before training (`_LowerLayerStates`) and a step runs only through the trained layers.
A finished encoder is stored under the fingerprint of its inputs and settings, so a retrain on unchanged
data reuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .embedding import default_model_path
from .request_text import without_value
from .types import ItemRecord

ENCODER_DEFAULTS: dict[str, Any] = {
    # Below this many dialogue -> item examples the packaged encoder serves: a few hundred suggestions are
    # too few to move 22M parameters usefully, and item pairs alone teach what the behavioural models know.
    "min_dialogue_examples": 500,
    "batch_size": 32,
    # A full step took 3.0 s at 128 tokens and 7.1 s at 256 on 2 idle cores; the latest turns matter most.
    "context_tokens": 96,
    "item_tokens": 64,
    "trainable_layers": 2,  # of MiniLM's 6: the lower layers keep their general English
    "lr": 5e-5,
    # Passes over the pairs; the budget usually ends training first (ml-latest-small: about a third of 3).
    "epochs": 3,
    "max_steps": None,
    "budget_s": 900.0,  # optimisation stops here: ml-latest-small + ReDial fits a 20-minute training budget
    # Item <-> item pairs drawn per dialogue example: 3 gave cold items 1.19x the packaged encoder's NDCG@10 on
    # ML-100K where 1 gave 1.01x (docs/benchmarks.md, joint training).
    "item_pairs_per_dialogue_example": 3.0,
    "max_item_pairs": 20000,
    "max_phrase_pairs": 2000,  # phrases drawn (uniformly, then a carrier)
    # Keep a pair each time it is drawn: rare phrases have few carriers, so repeats are what weighs the phrase
    # objective against the far more numerous dialogue and item pairs.
    "phrase_pairs_repeat": False,
    # A phrase is a list-valued attribute's value carried by at least this many items and at most this share of
    # the catalog (common ones, "Drama", would make most in-batch negatives wrong).
    "phrase_min_items": 2,
    "phrase_max_share": 0.05,
    "liked_value": 4.0,  # ratings at or above this count as liked (implicit data: every interaction)
    "mlm_weight": 0.0,  # Recformer's 0.1: off until measured to help (docs/benchmarks.md, joint training)
    "mlm_probability": 0.15,
    "scale": 20.0,
    # Gradients through both sides of each pair (as sentence-transformers' MultipleNegativesRankingLoss), or only
    # the query side, the item side encoded without gradients in the same step: about 40 % less time a step.
    "item_tower_grad": False,
    # Run the frozen lower layers once per text and keep their states (float16, about 0.75 KiB a token) instead
    # of at every step; off: every step runs the whole encoder (models whose pooling is not a mean always do).
    "cache_lower_layers": True,
    # Weight-space ensembling (WiSE-FT): the saved weights are this share of the trained ones plus the rest of the
    # packaged ones, keeping part of what the packaged encoder knows about free text; 1.0 saves the trained ones.
    "interpolation": 1.0,
    # Keep short texts near where the packaged encoder put them while the items move: each step adds this weight
    # times the mean cosine distance between the trained and the packaged vectors of `anchor_batch` of the
    # catalog's phrases (the query sides of the phrase pairs). Free-word requests are short texts like these.
    "anchor_weight": 0.0,
    "anchor_batch": 32,
    "seed": 0,
    "device": None,  # None: CUDA when present, else CPU
    "store": None,  # folder of trained encoders; None: "encoders" beside the version folders
    "base_model": None,  # None: the packaged all-MiniLM-L6-v2
}


@dataclass
class EncoderData:
    """What the encoder learns from: texts by item id, (dialogue text, item id) and (item id, item id) pairs."""

    item_texts: dict[str, str]
    dialogue_examples: list[tuple[str, str]] = field(default_factory=list)
    item_pairs: list[tuple[str, str]] = field(default_factory=list)
    phrase_examples: list[tuple[str, str]] = field(default_factory=list)  # (phrase, item text without it)

    def fingerprint(self, cfg: dict[str, Any], base: str) -> str:
        """Return a stable hash of everything the trained weights depend on."""
        h = hashlib.sha1()
        settings = {k: cfg.get(k) for k in sorted(ENCODER_DEFAULTS) if k not in ("store", "device")}
        h.update(json.dumps([settings, base], sort_keys=True, default=str).encode())
        for query, item in self.dialogue_examples:
            h.update(f"d\x1f{query}\x1f{self.item_texts.get(item, '')}\x1e".encode())
        for a, b in self.item_pairs:
            h.update(f"p\x1f{self.item_texts.get(a, '')}\x1f{self.item_texts.get(b, '')}\x1e".encode())
        for phrase, text in self.phrase_examples:
            h.update(f"w\x1f{phrase}\x1f{text}\x1e".encode())
        return h.hexdigest()[:20]


def encoder_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """Return ENCODER_DEFAULTS updated with config."""
    return {**ENCODER_DEFAULTS, **(config or {})}


def co_liked_pairs(
    users: Iterable[int],
    items: Iterable[int],
    values: Iterable[float],
    item_ids: list[str],
    n_pairs: int,
    *,
    liked_value: float | None,
    allowed: set[str] | None = None,
    seed: int = 0,
    neighbours: int = 10,
    shrink: float = 10.0,
) -> list[tuple[str, str]]:
    """Return up to n_pairs (item id, item id) pairs liked by the same people: an anchor drawn uniformly among the
    items at least two people liked, then one of its `neighbours` nearest items by co-liked cosine (the shared
    likes over the geometric mean of both items' likes plus `shrink`). Uniform anchors reach the long tail,
    where items added later resemble; nearest neighbours keep a pair meaningful (two films drawn from someone
    who liked two thousand are barely related). Items outside `allowed` (when given) never appear."""
    import scipy.sparse as sp

    liked_rows, liked_cols = [], []
    for u, i, v in zip(users, items, values):
        if (liked_value is None or v >= liked_value) and (allowed is None or item_ids[int(i)] in allowed):
            liked_rows.append(int(u))
            liked_cols.append(int(i))
    if not liked_rows or n_pairs <= 0:
        return []
    X = sp.csr_matrix((np.ones(len(liked_rows)), (liked_rows, liked_cols)), shape=(max(liked_rows) + 1, len(item_ids)))
    X.data[:] = 1.0  # one like per person and item, however often it was recorded
    counts = np.asarray(X.sum(axis=0)).ravel()
    anchors = np.flatnonzero(counts >= 2)
    rng = np.random.default_rng(seed)
    drawn = rng.choice(anchors, size=n_pairs) if len(anchors) else np.zeros(0, dtype=np.int64)
    by_item = X.T.tocsr()
    nearest: dict[int, np.ndarray] = {}
    unique = np.unique(drawn)
    for start in range(0, len(unique), 512):
        chunk = unique[start : start + 512]
        shared = np.asarray((by_item[chunk] @ X).todense())
        shared[np.arange(len(chunk)), chunk] = 0.0
        cosine = shared / (np.sqrt(counts[chunk])[:, None] * np.sqrt(counts)[None, :] + shrink)
        for row, item in enumerate(chunk):
            top = np.argsort(-cosine[row], kind="stable")[:neighbours]
            nearest[int(item)] = top[shared[row, top] > 0]
    out = []
    for anchor in drawn:
        options = nearest[int(anchor)]
        if len(options):
            out.append((item_ids[int(anchor)], item_ids[int(options[rng.integers(0, len(options))])]))
    return out


def text_without(record: ItemRecord, key: str, value: Any) -> str:
    """Return the record's text with one value of a list-valued attribute left out (the attribute too when it was
    the only value)."""
    return without_value(record, key, value).text()


def phrase_pairs(
    records: Iterable[ItemRecord],
    n_pairs: int,
    *,
    min_items: int = 2,
    max_share: float = 0.05,
    exclude: Iterable[str] = (),
    seed: int = 0,
    repeat: bool = False,
) -> list[tuple[str, str]]:
    """Return up to n_pairs (phrase, item text without the phrase): a phrase drawn at random among the values of
    list-valued attributes that min_items to max_share of the records carry (`exclude`d phrases never), then an
    item carrying it; a pair drawn twice is kept twice when `repeat`, else once."""
    records = list(records)
    refused = {str(p).casefold() for p in exclude}
    carriers: dict[tuple[str, str], list[ItemRecord]] = {}
    for record in records:
        for key, values in record.attributes.items():
            if isinstance(values, (list, tuple)):
                for value in dict.fromkeys(values):
                    if isinstance(value, str) and value.strip() and value.casefold() not in refused:
                        carriers.setdefault((key, value), []).append(record)
    most = max(min_items, int(max_share * len(records)))
    phrases = sorted(k for k, items in carriers.items() if min_items <= len(items) <= most)
    if not phrases or n_pairs <= 0:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for p in rng.integers(0, len(phrases), size=n_pairs):
        key, value = phrases[p]
        record = carriers[(key, value)][int(rng.integers(0, len(carriers[(key, value)])))]
        out.append((value, text_without(record, key, value)))
    return out if repeat else list(dict.fromkeys(out))


def pick_device(requested: str | None) -> str:
    """Return the torch device to train on: the requested one, else CUDA when present, else CPU."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def batches(examples: list[tuple[str, str, str]], size: int, rng: random.Random) -> list[list[tuple[str, str, str]]]:
    """Return shuffled batches of (kind, query, target) of one kind each, no target and no query twice in a batch
    (an in-batch negative must not be the positive of another row)."""
    out: list[list[tuple[str, str, str]]] = []
    for kind in sorted({e[0] for e in examples}):
        pending = [e for e in examples if e[0] == kind]
        rng.shuffle(pending)
        while pending:
            batch: list[tuple[str, str, str]] = []
            taken: set[tuple[int, str]] = set()
            rest: list[tuple[str, str, str]] = []
            for e in pending:
                if len(batch) < size and (1, e[1]) not in taken and (2, e[2]) not in taken:
                    batch.append(e)
                    taken.update(((1, e[1]), (2, e[2])))
                else:
                    rest.append(e)
            if len(batch) < 2:
                break
            out.append(batch)
            pending = rest
    rng.shuffle(out)
    return out


class _MaskedLM:
    """A masked-language head over the encoder's BERT (decoder tied to the word embeddings)."""

    def __init__(self, model, probability: float) -> None:
        import torch
        from transformers.models.bert.modeling_bert import BertOnlyMLMHead

        self.bert = model[0].auto_model
        self.tokenizer = model[0].tokenizer
        self.head = BertOnlyMLMHead(self.bert.config).to(model.device)
        self.head.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight
        self.probability = probability
        self.generator = torch.Generator().manual_seed(0)

    def parameters(self):
        return [p for n, p in self.head.named_parameters() if "decoder.weight" not in n]

    def loss(self, texts: list[str], max_tokens: int, device: str):
        import torch

        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
        ids, labels = enc["input_ids"].clone(), enc["input_ids"].clone()
        special = torch.tensor([[t in self.tokenizer.all_special_ids for t in row] for row in ids.tolist()])
        chosen = (torch.rand(ids.shape, generator=self.generator) < self.probability) & ~special
        labels[~chosen] = -100
        ids[chosen] = self.tokenizer.mask_token_id
        hidden = self.bert(input_ids=ids.to(device), attention_mask=enc["attention_mask"].to(device)).last_hidden_state
        logits = self.head(hidden)
        return torch.nn.functional.cross_entropy(
            logits.view(-1, logits.shape[-1]), labels.to(device).view(-1), ignore_index=-100
        )


def _freeze_lower_layers(model, trainable_layers: int) -> list:
    """Freeze everything but the top trainable_layers transformer layers; return the trainable parameters."""
    bert = model[0].auto_model
    for p in bert.parameters():
        p.requires_grad = False
    layers = bert.encoder.layer
    for layer in layers[max(0, len(layers) - int(trainable_layers)) :]:
        for p in layer.parameters():
            p.requires_grad = True
    return [p for p in bert.parameters() if p.requires_grad]


def _features(model, texts: list[str], max_tokens: int, keep_end: bool, device: str) -> dict:
    """Tokenize texts for the model, cut to max_tokens (from the front when keep_end: a dialogue's latest turns)."""
    tokenizer = model[0].tokenizer
    before = tokenizer.truncation_side
    tokenizer.truncation_side = "left" if keep_end else "right"
    model.max_seq_length = max_tokens
    try:
        features = (getattr(model, "preprocess", None) or model.tokenize)(texts)
    finally:
        tokenizer.truncation_side = before
    return {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items()}


class _FullEncoder:
    """Sentence vectors from the whole model at every call (the lower layers rerun each step)."""

    def __init__(self, model, device: str) -> None:
        self.model, self.device = model, device

    def prepare(self, texts: list[str], max_tokens: int, keep_end: bool,
                progress: Callable[[int, int], None] | None = None) -> None:
        """Nothing to compute ahead."""

    def embed(self, texts: list[str], max_tokens: int, keep_end: bool):
        return self.model(_features(self.model, texts, max_tokens, keep_end, self.device))["sentence_embedding"]


class _LowerLayerStates:
    """Sentence vectors from the trained top layers over states the frozen lower layers gave once per text.

    The result equals the whole model's mean-pooled vector (up to float16 storage of the states): a step's
    forward and backward passes run through `trainable_layers` of the six layers only.
    """

    def __init__(self, model, trainable_layers: int, device: str, chunk: int = 64) -> None:
        self.model, self.device, self.chunk = model, device, chunk
        self.bert = model[0].auto_model
        layers = self.bert.encoder.layer
        self.lower = layers[: max(0, len(layers) - int(trainable_layers))]
        self.top = layers[len(self.lower) :]
        self.states: dict[tuple[str, int, bool], Any] = {}

    @staticmethod
    def usable(model, trainable_layers: int) -> bool:
        """Whether the model is a BERT encoder with mean pooling (what the states reproduce) and frozen layers."""
        pooling = model[1] if len(model) > 1 else None
        mode = getattr(pooling, "pooling_mode", None)  # "mean" here; older releases kept one flag per mode
        mean = mode == "mean" if mode is not None else bool(getattr(pooling, "pooling_mode_mean_tokens", False))
        layers = getattr(getattr(getattr(model[0], "auto_model", None), "encoder", None), "layer", None)
        after = [type(m).__name__ for m in list(model)[2:]]
        return mean and after in ([], ["Normalize"]) and layers is not None and int(trainable_layers) < len(layers)

    def _run(self, layers, hidden, attention):
        import torch

        mask = (1.0 - attention[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in layers:
            out = layer(hidden, attention_mask=mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def prepare(self, texts: list[str], max_tokens: int, keep_end: bool,
                progress: Callable[[int, int], None] | None = None) -> None:
        """Compute and keep the lower layers' states of every text not yet kept."""
        import torch

        todo = [t for t in dict.fromkeys(texts) if (t, max_tokens, keep_end) not in self.states]
        was_training = self.bert.training
        self.bert.eval()
        with torch.no_grad():
            for start in range(0, len(todo), self.chunk):
                part = todo[start : start + self.chunk]
                f = _features(self.model, part, max_tokens, keep_end, self.device)
                hidden = self.bert.embeddings(input_ids=f["input_ids"], token_type_ids=f.get("token_type_ids"))
                hidden = self._run(self.lower, hidden, f["attention_mask"])
                for text, h, n in zip(part, hidden, f["attention_mask"].sum(dim=1).tolist()):
                    self.states[(text, max_tokens, keep_end)] = h[: int(n)].to("cpu", torch.float16).clone()
                if progress:
                    progress(start + len(part), len(todo))
        self.bert.train(was_training)

    def embed(self, texts: list[str], max_tokens: int, keep_end: bool):
        import torch

        self.prepare(texts, max_tokens, keep_end)
        states = [self.states[(t, max_tokens, keep_end)] for t in texts]
        width = max(len(h) for h in states)
        hidden = torch.zeros(len(states), width, states[0].shape[-1])
        attention = torch.zeros(len(states), width)
        for row, h in enumerate(states):
            hidden[row, : len(h)] = h.float()
            attention[row, : len(h)] = 1.0
        hidden, attention = hidden.to(self.device), attention.to(self.device)
        hidden = self._run(self.top, hidden, attention)
        pooled = (hidden * attention[..., None]).sum(dim=1) / attention.sum(dim=1, keepdim=True).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)


class _ShortTextAnchor:
    """The packaged encoder's vectors of short texts, and how far the trained encoder has moved them."""

    def __init__(self, encoder, texts: list[str], tokens: int, batch: int, seed: int) -> None:
        import torch

        self.encoder, self.texts, self.tokens, self.batch = encoder, texts, tokens, batch
        self.rng = random.Random(seed)
        with torch.no_grad():  # before the first step: the trained layers are still the packaged ones
            parts = [encoder.embed(texts[i : i + 256], tokens, False) for i in range(0, len(texts), 256)]
        self.packaged = torch.nn.functional.normalize(torch.cat(parts), dim=-1)

    @classmethod
    def for_data(cls, encoder, data: EncoderData, cfg: dict[str, Any]) -> _ShortTextAnchor | None:
        """Return the anchor over the data's phrases, or None when it has no weight or there are no phrases."""
        texts = sorted({phrase for phrase, _ in data.phrase_examples})
        if float(cfg["anchor_weight"]) <= 0 or not texts:
            return None
        return cls(encoder, texts, int(cfg["item_tokens"]), int(cfg["anchor_batch"]), int(cfg["seed"]))

    def loss(self):
        """Mean cosine distance between trained and packaged vectors of a random batch of the texts."""
        import torch

        chosen = self.rng.sample(range(len(self.texts)), min(self.batch, len(self.texts)))
        now = self.encoder.embed([self.texts[i] for i in chosen], self.tokens, False)
        now = torch.nn.functional.normalize(now, dim=-1)
        return (1.0 - (now * self.packaged[chosen].to(now.device)).sum(dim=-1)).mean()


def _examples(data: EncoderData) -> list[tuple[str, str, str]]:
    """Return (kind, query, target text) for every pair."""
    texts = data.item_texts
    out = [("dialogue", q, texts[i]) for q, i in data.dialogue_examples if i in texts]
    out += [("item", texts[a], texts[b]) for a, b in data.item_pairs if a in texts and b in texts and a != b]
    out += [("phrase", phrase, text) for phrase, text in data.phrase_examples]
    return out


def fit_encoder(
    data: EncoderData,
    out_dir: Path,
    config: dict[str, Any] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune the base encoder on data and save it (a sentence-transformers folder) to out_dir.

    Returns the training report (steps, seconds, losses, what was trained); it is also written beside the
    model as encoder_training.json.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    cfg = encoder_config(config)
    report = progress or (lambda stage, fraction: None)
    device = pick_device(cfg.get("device"))
    base = str(cfg.get("base_model") or default_model_path())
    torch.manual_seed(int(cfg["seed"]))
    model = SentenceTransformer(base, device=device, local_files_only=True)
    trainable = _freeze_lower_layers(model, int(cfg["trainable_layers"]))
    share = float(cfg["interpolation"])
    packaged = [p.detach().clone() for p in trainable] if share != 1.0 else []  # kept only to blend back into
    mlm = _MaskedLM(model, float(cfg["mlm_probability"])) if float(cfg["mlm_weight"]) > 0 else None
    optimizer = torch.optim.AdamW(trainable + (mlm.parameters() if mlm else []), lr=float(cfg["lr"]))
    rng = random.Random(int(cfg["seed"]))
    plan = [b for _ in range(int(cfg["epochs"])) for b in batches(_examples(data), int(cfg["batch_size"]), rng)]
    if cfg.get("max_steps") is not None:
        plan = plan[: int(cfg["max_steps"])]
    started = time.perf_counter()
    encoder = _prepared_encoder(model, plan, cfg, device, report)
    cached = isinstance(encoder, _LowerLayerStates)
    model.eval()  # the anchor's packaged vectors without dropout
    anchor = _ShortTextAnchor.for_data(encoder, data, cfg)
    prepared_s = time.perf_counter() - started
    model.train()
    losses: list[float] = []
    steps = 0
    for batch in plan:
        if time.perf_counter() - started > float(cfg["budget_s"]):
            break
        loss = _step_loss(encoder, mlm, batch, cfg, device, anchor)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
        losses.append(float(loss.detach()))
        report(
            f"training the text encoder (step {steps}/{len(plan)}, loss {np.mean(losses[-20:]):.3f})",
            min(1.0, max(steps / max(len(plan), 1), (time.perf_counter() - started) / float(cfg["budget_s"]))),
        )
    model.eval()
    if packaged:
        with torch.no_grad():
            for p, p0 in zip(trainable, packaged):
                p.mul_(share).add_(p0, alpha=1.0 - share)
    seconds = time.perf_counter() - started
    summary = {
        "steps": steps,
        "planned_steps": len(plan),
        "seconds": round(seconds, 1),
        "prepare_seconds": round(prepared_s, 1),
        "lower_layers_cached": cached,
        "device": device,
        "dialogue_examples": len(data.dialogue_examples),
        "item_pairs": len(data.item_pairs),
        "phrase_pairs": len(data.phrase_examples),
        "first_loss": float(np.mean(losses[:20])) if losses else None,
        "last_loss": float(np.mean(losses[-20:])) if losses else None,
        "trainable_layers": int(cfg["trainable_layers"]),
        "mlm_weight": float(cfg["mlm_weight"]),
        "interpolation": share,
        "anchor_weight": float(cfg["anchor_weight"]),
        "anchor_texts": len(anchor.texts) if anchor is not None else 0,
        "base_model": base,
        "stopped_by_budget": steps < len(plan),
    }
    _save(model, Path(out_dir), summary)
    return summary


def _prepared_encoder(model, plan, cfg: dict[str, Any], device: str,
                      report: Callable[[str, float], None]) -> _LowerLayerStates | _FullEncoder:
    """Return what encodes the plan's texts during training, with the frozen layers' states of every text kept
    where the model allows it (progress shown while they are computed)."""
    cached = bool(cfg["cache_lower_layers"]) and _LowerLayerStates.usable(model, int(cfg["trainable_layers"]))
    encoder: _LowerLayerStates | _FullEncoder = (
        _LowerLayerStates(model, int(cfg["trainable_layers"]), device) if cached else _FullEncoder(model, device))
    for (kind, tokens, keep_end), texts in _plan_texts(plan, cfg).items():

        def prepared(done: int, total: int, kind: str = kind) -> None:
            report(f"preparing the text encoder's {kind} texts ({done}/{total})", 0.0)

        encoder.prepare(texts, tokens, keep_end, progress=prepared)
    return encoder


def _query_form(kind: str, cfg: dict[str, Any]) -> tuple[int, bool]:
    """Return (token cut, keep the end) for a pair's query side: a dialogue keeps its latest turns."""
    if kind == "dialogue":
        return int(cfg["context_tokens"]), True
    return int(cfg["item_tokens"]), False


def _plan_texts(plan, cfg: dict[str, Any]) -> dict[tuple[str, int, bool], list[str]]:
    """Return every text the plan encodes, by (kind, token cut, keep the end)."""
    out: dict[tuple[str, int, bool], list[str]] = {}
    for batch in plan:
        for kind, query, target in batch:
            out.setdefault((kind, *_query_form(kind, cfg)), []).append(query)
            out.setdefault(("item", int(cfg["item_tokens"]), False), []).append(target)
    return out


def _step_loss(encoder, mlm, batch, cfg: dict[str, Any], device: str, anchor: _ShortTextAnchor | None = None):
    """Return one batch's loss: in-batch contrastive (each query against every item of the batch, the items' side
    held fixed for the step unless `item_tower_grad`), plus the weighted masked-language loss and the weighted
    anchor when configured."""
    import torch

    kind = batch[0][0]
    targets = [text for _, _, text in batch]
    queries = encoder.embed([q for _, q, _ in batch], *_query_form(kind, cfg))
    with torch.set_grad_enabled(bool(cfg["item_tower_grad"])):
        items = encoder.embed(targets, int(cfg["item_tokens"]), False)
    scores = float(cfg["scale"]) * torch.nn.functional.normalize(queries, dim=-1) @ (
        torch.nn.functional.normalize(items, dim=-1).T
    )
    loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch), device=scores.device))
    if mlm is not None:
        loss = loss + float(cfg["mlm_weight"]) * mlm.loss(targets, int(cfg["item_tokens"]), device)
    if anchor is not None:
        loss = loss + float(cfg["anchor_weight"]) * anchor.loss()
    return loss


def _save(model, out_dir: Path, summary: dict[str, Any]) -> None:
    """Write the model to out_dir atomically (a partial folder renamed into place)."""
    partial = out_dir.with_name(f"{out_dir.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.max_seq_length = 256  # serving encodes whole item texts and dialogues; the training cut is a cost lever
    model.save(str(partial))
    (partial / "encoder_training.json").write_text(json.dumps(summary, indent=1))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(partial, out_dir)


def trained_or_reused(
    data: EncoderData,
    store: Path,
    config: dict[str, Any] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[Path | None, dict[str, Any]]:
    """Return (the trained encoder's folder, its report); the folder of an identical earlier training when one
    exists, and (None, reason) when there are too few dialogue examples to train."""
    cfg = encoder_config(config)
    if len(data.dialogue_examples) < int(cfg["min_dialogue_examples"]):
        return None, {
            "skipped": f"{len(data.dialogue_examples)} dialogue examples, fewer than "
            f"{cfg['min_dialogue_examples']}: the packaged encoder serves"
        }
    base = str(cfg.get("base_model") or default_model_path())
    folder = Path(store) / data.fingerprint(cfg, base)
    done = folder / "encoder_training.json"
    if done.exists():
        summary = json.loads(done.read_text())
        return folder, {**summary, "reused": True}
    return folder, {**fit_encoder(data, folder, cfg, progress), "reused": False}
