"""Joint training of the text encoder: one MiniLM taught what people suggest in dialogues and like together.

The packaged all-MiniLM-L6-v2 knows English, not this catalog. Fine-tuning it with in-batch negatives
(sentence-transformers' MultipleNegativesRankingLoss, temperature 1/20) on two kinds of pairs makes its
vectors carry the catalog's behaviour:
- dialogue -> item: the dialogue so far (both sides' turns, as text, the latest kept) against the text of an
  item suggested next, from recorded dialogues (never the development split) and the product's own chats
  where a shown item was liked;
- item <-> item: the texts of two items one person liked.
Optionally (`mlm_weight`, Recformer's lambda) a masked-language loss on the catalog's own texts is added.

The cost is bounded: only the top `trainable_layers` transformer layers learn (the rest run without
gradients), contexts are cut to `context_tokens` tokens and item texts to `item_tokens`, and optimisation
stops at `budget_s` seconds whatever the epoch count says. A finished encoder is stored under the
fingerprint of its inputs and settings, so a retrain on unchanged data reuses it.
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
    "epochs": 1,
    "max_steps": None,
    "budget_s": 900.0,  # optimisation stops here: ml-latest-small + ReDial fits a 20-minute training budget
    "item_pairs_per_dialogue_example": 1.0,  # item <-> item pairs drawn per dialogue example
    "max_item_pairs": 5000,
    "liked_value": 4.0,  # ratings at or above this count as liked (implicit data: every interaction)
    "mlm_weight": 0.0,  # Recformer's 0.1 did not help the measures here (docs/benchmarks.md, joint training)
    "mlm_probability": 0.15,
    "scale": 20.0,
    # Gradients through both sides of each pair (sentence-transformers' MultipleNegativesRankingLoss), or only
    # the query side, the item side encoded without gradients in the same step: about 40 % less time a step.
    "item_tower_grad": False,
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

    def fingerprint(self, cfg: dict[str, Any], base: str) -> str:
        """Return a stable hash of everything the trained weights depend on."""
        h = hashlib.sha1()
        settings = {k: cfg.get(k) for k in sorted(ENCODER_DEFAULTS) if k not in ("store", "device")}
        h.update(json.dumps([settings, base], sort_keys=True, default=str).encode())
        for query, item in self.dialogue_examples:
            h.update(f"d\x1f{query}\x1f{self.item_texts.get(item, '')}\x1e".encode())
        for a, b in self.item_pairs:
            h.update(f"p\x1f{self.item_texts.get(a, '')}\x1f{self.item_texts.get(b, '')}\x1e".encode())
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
) -> list[tuple[str, str]]:
    """Return up to n_pairs (item id, item id) pairs liked by one person: a person drawn at random, then two of
    their liked items. Items outside `allowed` (when given) never appear."""
    liked: dict[int, list[int]] = {}
    for u, i, v in zip(users, items, values):
        if (liked_value is None or v >= liked_value) and (allowed is None or item_ids[i] in allowed):
            liked.setdefault(int(u), []).append(int(i))
    people = [items for items in liked.values() if len(items) >= 2]
    if not people or n_pairs <= 0:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for p in rng.integers(0, len(people), size=n_pairs):
        a, b = rng.choice(len(people[p]), size=2, replace=False)
        out.append((item_ids[people[p][a]], item_ids[people[p][b]]))
    return out


def pick_device(requested: str | None) -> str:
    """Return the torch device to train on: the requested one, else CUDA when present, else CPU."""
    if requested:
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def batches(examples: list[tuple[str, str, str]], size: int, rng: random.Random) -> list[list[tuple[str, str, str]]]:
    """Return shuffled batches of (kind, query, target item) of one kind each, no target twice in a batch (an
    in-batch negative must not be the positive of another row)."""
    out: list[list[tuple[str, str, str]]] = []
    for kind in sorted({e[0] for e in examples}):
        pending = [e for e in examples if e[0] == kind]
        rng.shuffle(pending)
        while pending:
            batch: list[tuple[str, str, str]] = []
            targets: set[str] = set()
            rest: list[tuple[str, str, str]] = []
            for e in pending:
                if len(batch) < size and e[2] not in targets:
                    batch.append(e)
                    targets.add(e[2])
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


def _examples(data: EncoderData) -> list[tuple[str, str, str]]:
    texts = data.item_texts
    out = [("dialogue", q, i) for q, i in data.dialogue_examples if i in texts]
    out += [("item", texts[a], b) for a, b in data.item_pairs if a in texts and b in texts and a != b]
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
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    cfg = encoder_config(config)
    report = progress or (lambda stage, fraction: None)
    device = pick_device(cfg.get("device"))
    base = str(cfg.get("base_model") or default_model_path())
    torch.manual_seed(int(cfg["seed"]))
    model = SentenceTransformer(base, device=device, local_files_only=True)
    trainable = _freeze_lower_layers(model, int(cfg["trainable_layers"]))
    loss_fn = MultipleNegativesRankingLoss(model, scale=float(cfg["scale"]))
    mlm = _MaskedLM(model, float(cfg["mlm_probability"])) if float(cfg["mlm_weight"]) > 0 else None
    optimizer = torch.optim.AdamW(trainable + (mlm.parameters() if mlm else []), lr=float(cfg["lr"]))
    rng = random.Random(int(cfg["seed"]))
    plan = [b for _ in range(int(cfg["epochs"])) for b in batches(_examples(data), int(cfg["batch_size"]), rng)]
    if cfg.get("max_steps") is not None:
        plan = plan[: int(cfg["max_steps"])]
    model.train()
    started, losses, steps = time.perf_counter(), [], 0
    for batch in plan:
        if time.perf_counter() - started > float(cfg["budget_s"]):
            break
        loss = _step_loss(model, loss_fn, mlm, batch, data.item_texts, cfg, device)
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
    seconds = time.perf_counter() - started
    summary = {
        "steps": steps,
        "planned_steps": len(plan),
        "seconds": round(seconds, 1),
        "device": device,
        "dialogue_examples": len(data.dialogue_examples),
        "item_pairs": len(data.item_pairs),
        "first_loss": float(np.mean(losses[:20])) if losses else None,
        "last_loss": float(np.mean(losses[-20:])) if losses else None,
        "trainable_layers": int(cfg["trainable_layers"]),
        "mlm_weight": float(cfg["mlm_weight"]),
        "base_model": base,
        "stopped_by_budget": steps < len(plan),
    }
    _save(model, Path(out_dir), summary)
    return summary


def _step_loss(model, loss_fn, mlm, batch, item_texts: dict[str, str], cfg: dict[str, Any], device: str):
    """Return one batch's loss: in-batch contrastive, plus the weighted masked-language loss when configured."""
    from sentence_transformers.util import cos_sim

    kind = batch[0][0]
    queries = [q for _, q, _ in batch]
    targets = [item_texts[i] for _, _, i in batch]
    query_tokens = int(cfg["context_tokens"] if kind == "dialogue" else cfg["item_tokens"])
    q = _features(model, queries, query_tokens, keep_end=kind == "dialogue", device=device)
    t = _features(model, targets, int(cfg["item_tokens"]), keep_end=False, device=device)
    if cfg["item_tower_grad"]:
        loss = loss_fn([q, t], None)
    else:  # the same in-batch loss with the items' side held fixed for the step: half the backward pass
        import torch

        with torch.no_grad():
            items = model(t)["sentence_embedding"]
        queries_out = model(q)["sentence_embedding"]
        scores = float(cfg["scale"]) * cos_sim(queries_out, items)
        loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch), device=scores.device))
    if mlm is not None:
        loss = loss + float(cfg["mlm_weight"]) * mlm.loss(targets, int(cfg["item_tokens"]), device)
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
