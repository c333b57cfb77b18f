"""The engine's CUDA paths, measured next to the CPU in one process.

    python -m benchmarks.gpu --data-dir DIR --out FILE.json [--quick] [--write-docs]
    python -m benchmarks.gpu --from-json FILE.json --write-docs

Trains the MF ranker on ML-100K protocol (a) and fits the rating model (and its torch parts alone) on fold
u1 once per device (the engine's use_device); then builds a tiny random-weight causal LM, loads it
through TransformersBackend and streams from it. On a machine without CUDA only the CPU rows are measured
and the report says CUDA was unavailable. Nothing here imports Django, so it runs where only torch,
transformers and the engine's own packages are installed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import BENCHMARKS_MD, add_data_dir, data_root, write_section
from recommender.engine.catalog import Catalog
from recommender.engine.data import load_ml100k, load_ml100k_fold, ml100k_dir, random_split
from recommender.engine.metrics import evaluate_topk, rmse
from recommender.engine.rankers import make_ranker
from recommender.engine.rankers.mf import use_device
from recommender.engine.rating import BiasedMF, ItemAutoRec, RatingModel, SVDPlusPlus
from recommender.engine.training import merged_config

SEED = 0
LLM_PROMPT = "recommend a quiet space film about love and a lonely robot for tonight"


def log(message: str) -> None:
    print(message, flush=True)


def on_device(name: str):
    """Return a context in which the engine's torch code trains on the named device (use_device)."""
    return use_device(name)


def device_info() -> dict[str, Any]:
    """Return torch, CUDA and host facts for the report."""
    info: dict[str, Any] = {
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(), "cuda_runtime": torch.version.cuda,
    }
    if info["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        info.update(cuda_device=props.name, cuda_capability=f"{props.major}.{props.minor}",
                    cuda_memory_gib=round(props.total_memory / 2**30, 1), cuda_multiprocessors=props.multi_processor_count,
                    cuda_device_count=torch.cuda.device_count())
    return info


def warm_up_cuda() -> float:
    """Return seconds to create the CUDA context and run a first kernel (kept out of the fit timings)."""
    started = time.perf_counter()
    x = torch.randn(256, 256, device="cuda")
    (x @ x).sum().item()
    return time.perf_counter() - started


def timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    """Return fit()'s result and its wall seconds (the CUDA queue drained before the clock stops)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    result = fit()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - started


# ---------------------------------------------------------------- MF ranker


def mf_section(data_dir: Path, devices: list[str], quick: bool) -> dict[str, Any]:
    """Train MFRanker on protocol (a) (seed 0) once per device; return fit seconds and top-N metrics."""
    data = load_ml100k(data_dir)
    split = random_split(data, 0.2, SEED)
    catalog = Catalog.from_data(split.train)
    params = dict(merged_config({"seed": SEED})["components"]["mf"], seed=SEED)
    if quick:
        params["epochs"] = 3
    out: dict[str, Any] = {"params": params, "test_users": len(split.test_items), "rows": {}}
    for name in devices:
        with on_device(name) as device:
            model, seconds = timed(lambda: make_ranker("mf", **params).fit(split.train, catalog))
        assert isinstance(model.Q, np.ndarray) and model.Q.dtype == np.float32, "factors must come back as numpy"
        row = {"device": str(device), "train_s": seconds}
        row.update(evaluate_topk(model.score_users, catalog.train, split.test_items))
        out["rows"][name] = row
        log(f"  mf on {name:<4} train {seconds:6.2f}s  NDCG@5 {row['NDCG@5']:.4f}  P@5 {row['P@5']:.4f}")
    if "cuda" in out["rows"]:
        out["cuda_over_cpu_time"] = out["rows"]["cuda"]["train_s"] / out["rows"]["cpu"]["train_s"]
    return out


# ---------------------------------------------------------------- rating model


def rating_section(data_dir: Path, devices: list[str], quick: bool) -> dict[str, Any]:
    """Fit the rating blend and each torch part alone on u1.base per device; return seconds and u1.test RMSE."""
    train, test = load_ml100k_fold(data_dir, 1)
    args = (train.rows, train.cols, train.values.astype(np.float32), train.n_users, train.n_items)
    epochs = {"mf": 5, "svdpp": 5, "autorec": 5} if quick else {}

    def part(name: str):
        if name == "svdpp":
            return SVDPlusPlus(**({"epochs": epochs["svdpp"]} if quick else {}))
        if name == "autorec":
            return ItemAutoRec(**({"epochs": epochs["autorec"]} if quick else {}))
        return BiasedMF(**({"epochs": epochs["mf"]} if quick else {}))

    def blend() -> RatingModel:
        if not quick:
            return RatingModel(seed=SEED)
        return RatingModel(seed=SEED, als={"factors": 32, "reg": 0.12, "iters": 2},
                           svdpp={"epochs": epochs["svdpp"]}, autorec={"epochs": epochs["autorec"]})

    out: dict[str, Any] = {"fold": "u1", "test_ratings": int(len(test.values)), "rows": {}}
    for name in devices:
        rows: dict[str, Any] = {}
        with on_device(name) as device:
            for part_name in ("svdpp", "autorec", "mf"):
                model, seconds = timed(lambda name=part_name: part(name).fit(*args))
                pred = np.clip(model.predict(test.rows, test.cols), 1.0, 5.0)
                rows[part_name] = {"device": str(device), "fit_s": seconds, "rmse": rmse(test.values, pred)}
            model, seconds = timed(lambda: blend().fit(*args))
            rows["blend"] = {"device": str(device), "fit_s": seconds,
                             "rmse": rmse(test.values, model.predict(test.rows, test.cols))}
        out["rows"][name] = rows
        log("  rating on " + name + ": " + ", ".join(f"{k} {v['fit_s']:.2f}s RMSE {v['rmse']:.4f}" for k, v in rows.items()))
    return out


# ---------------------------------------------------------------- transformers backend


def build_tiny_lm(directory: Path, vocab_words: int = 500) -> dict[str, Any]:
    """Save a 2-layer random-weight Llama and a word-level tokenizer to directory; return their sizes.

    Built here because no real model fits what travels to the GPU machine; it has no end-of-text token, so
    every generation runs to max_tokens and token counts are exact.
    """
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = sorted(set(LLM_PROMPT.split())) + [f"w{i}" for i in range(vocab_words)]
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]")
    config = transformers.LlamaConfig(vocab_size=len(vocab), hidden_size=128, intermediate_size=256,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                      max_position_embeddings=512, bos_token_id=None, eos_token_id=None,
                                      pad_token_id=0, tie_word_embeddings=True)
    torch.manual_seed(SEED)
    model = transformers.LlamaForCausalLM(config)
    model.generation_config.eos_token_id = None
    model.generation_config.bos_token_id = None
    model.save_pretrained(directory)
    fast.save_pretrained(directory)
    return {"layers": 2, "hidden": 128, "vocab": len(vocab), "parameters": sum(p.numel() for p in model.parameters())}


def stream_once(backend, max_tokens: int) -> dict[str, float]:
    """Return time to the first chunk and decode tokens/s after it for one greedy generation."""
    started = time.perf_counter()
    first = None
    chunks = []
    for chunk in backend.generate(LLM_PROMPT, max_tokens=max_tokens, temperature=0.0):
        if first is None:
            first = time.perf_counter()
        chunks.append(chunk)
    ended = time.perf_counter()
    first = first or ended
    decode_s = ended - first
    return {"tokens": max_tokens, "chunks": len(chunks), "first_chunk_s": first - started,
            "decode_tokens_per_s": (max_tokens - 1) / decode_s if decode_s > 0 and max_tokens > 1 else 0.0,
            "text_sample": "".join(chunks)[:60]}


def llm_section(devices: list[str], quick: bool) -> dict[str, Any]:
    """Load the tiny LM through TransformersBackend per device and stream from it (the first run warms up)."""
    import transformers

    from recommender.engine.llm.transformers_backend import TransformersBackend

    transformers.utils.logging.disable_progress_bar()
    runs, max_tokens = (1, 8) if quick else (3, 64)
    out: dict[str, Any] = {"max_tokens": max_tokens, "runs": runs, "rows": {}}
    with tempfile.TemporaryDirectory(prefix="tiny-lm-") as tmp:
        out["model"] = build_tiny_lm(Path(tmp))
        for name in devices:
            backend = TransformersBackend(tmp, device=name)
            _, load_s = timed(backend.load)
            param = next(backend._lm.parameters())
            assert param.device.type == name, f"model parameters on {param.device}, expected {name}"
            if name == "cuda":
                assert param.dtype == torch.float16, f"CUDA model loaded as {param.dtype}, expected float16"
            first_run, *results = [stream_once(backend, max_tokens) for _ in range(runs + 1)]
            row = {"device": str(param.device), "dtype": str(param.dtype).replace("torch.", ""), "load_s": load_s,
                   "first_run_first_chunk_s": first_run["first_chunk_s"],
                   "first_run_decode_tokens_per_s": first_run["decode_tokens_per_s"],
                   "first_chunk_s": statistics.median(r["first_chunk_s"] for r in results),
                   "decode_tokens_per_s": statistics.median(r["decode_tokens_per_s"] for r in results),
                   "chunks": results[-1]["chunks"], "text_sample": results[-1]["text_sample"]}
            vector = backend.embed(["a lonely robot"])[0]
            row["embed_dim"] = len(vector)
            assert all(np.isfinite(vector)), "embedding has non-finite values"
            out["rows"][name] = row
            log(f"  llm on {name:<4} {row['dtype']}: load {load_s:.2f}s, first chunk {row['first_chunk_s'] * 1000:.1f} ms, "
                f"{row['decode_tokens_per_s']:.0f} tokens/s (first run {row['first_run_decode_tokens_per_s']:.0f})")
            del backend
    return out


# ---------------------------------------------------------------- report


def markdown(result: dict[str, Any]) -> str:
    """Return the "gpu" section of docs/benchmarks.md for a result written by run()."""
    info = result["info"]
    where = (f"{info['cuda_device']} (CUDA {info['cuda_runtime']}, torch {info['torch']}); CPU rows on the same "
             f"machine's {info['cpu_cores']} cores, {info['torch_threads']} torch threads"
             if info["cuda_available"] else
             f"no CUDA device (torch {info['torch']}, {info['cpu_cores']} CPU cores): CPU rows only")
    lines = ["## GPU paths (CUDA)", "",
             f"Measured {result['measured']} on {where}, with `{result['command']}` (one process, seed 0"
             + (", quick mode: few epochs" if result["quick"] else "") + ").", ""]
    if info["cuda_available"]:
        lines += [f"CUDA context start and first kernel: {result['cuda_warmup_s']:.2f} s, kept out of the times below.", ""]
    mf = result["mf"]
    lines += ["### MF ranker, ML-100K protocol (a) (random 80/20, seed 0)", "",
              f"`MFRanker` with {', '.join(f'{k}={v}' for k, v in mf['params'].items())}; the device is chosen with the engine's `use_device` (`CHATREC_DEVICE` in the Django settings).", "",
              "| device | train s | NDCG@5 | P@5 | R@5 | NDCG@10 |", "|---|---|---|---|---|---|"]
    for row in mf["rows"].values():
        lines.append(f"| {row['device']} | {row['train_s']:.2f} | {row['NDCG@5']:.4f} | {row['P@5']:.4f} | {row['R@5']:.4f} | {row['NDCG@10']:.4f} |")
    if "cuda_over_cpu_time" in mf:
        lines += ["", f"CUDA time ÷ CPU time: {mf['cuda_over_cpu_time']:.2f}."]
    rating = result["rating"]
    lines += ["", f"### Rating model, fold u1 ({rating['test_ratings']} test ratings)", "",
              "The torch parts fitted alone, then the default blend (ALS and the kNN parts run in numpy on either device).", "",
              "| part | device | fit s | RMSE u1 |", "|---|---|---|---|"]
    labels = {"svdpp": "SVD++", "autorec": "I-AutoRec", "mf": "biased MF (Adam)", "blend": "RatingModel blend"}
    for part in labels:
        for rows in rating["rows"].values():
            row = rows[part]
            lines.append(f"| {labels[part]} | {row['device']} | {row['fit_s']:.2f} | {row['rmse']:.4f} |")
    llm = result["llm"]
    model = llm["model"]
    lines += ["", "### TransformersBackend with a tiny random-weight model", "",
              f"A {model['layers']}-layer Llama ({model['hidden']} hidden, {model['vocab']}-word vocabulary, "
              f"{model['parameters']:,} parameters) built in a temporary folder, loaded through `TransformersBackend`, "
              f"then {llm['max_tokens']} tokens streamed greedily; median of {llm['runs']} run{'s' if llm['runs'] > 1 else ''} "
              "after a warm-up.", "",
              "| device | dtype | load s | first chunk ms | decode tokens/s | first run: first chunk ms | first run: tokens/s |",
              "|---|---|---|---|---|---|---|"]
    for row in llm["rows"].values():
        lines.append(f"| {row['device']} | {row['dtype']} | {row['load_s']:.2f} | {row['first_chunk_s'] * 1000:.1f} | "
                     f"{row['decode_tokens_per_s']:.0f} | {row['first_run_first_chunk_s'] * 1000:.1f} | "
                     f"{row['first_run_decode_tokens_per_s']:.0f} |")
    if "cuda" in llm["rows"]:
        lines += ["", "The first generation on CUDA pays for planning attention at each new sequence length (cuDNN, "
                  "half precision); the backend runs every generation on one long-lived thread because cuDNN keeps "
                  "those plans per thread."]
    lines += ["", "What this does not show: the LLM rows prove loading, dtype, device placement and streaming only — "
              "the model is random and tiny, so they say nothing of answer quality or of a real model's speed. "
              "CPU and CUDA draw different random numbers from the same seed, so small metric differences between "
              "them are seed noise, not an effect of the device. The MiniLM content embedder was not run on the GPU "
              "(its model is too large to send to the GPU machine); `SentenceEmbedder` leaves the device to "
              "sentence-transformers, which picks CUDA when present. Times are from a single run."]
    return "\n".join(lines)


def run(data_dir: Path, quick: bool, command: str) -> dict[str, Any]:
    """Return every measurement as one JSON-ready dict."""
    data_dir = ml100k_dir(data_dir)
    info = device_info()
    log("torch " + info["torch"] + ", CUDA " + (f"{info['cuda_device']} ({info['cuda_runtime']})" if info["cuda_available"]
                                                else "unavailable: CPU rows only"))
    log(json.dumps(info))
    devices = ["cpu", "cuda"] if info["cuda_available"] else ["cpu"]
    result: dict[str, Any] = {"measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                              "command": command, "quick": quick, "seed": SEED, "info": info}
    if info["cuda_available"]:
        result["cuda_warmup_s"] = warm_up_cuda()
    log("MF ranker, protocol (a):")
    result["mf"] = mf_section(data_dir, devices, quick)
    log("rating model, fold u1:")
    result["rating"] = rating_section(data_dir, devices, quick)
    log("transformers backend, tiny model:")
    result["llm"] = llm_section(devices, quick)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser, "ml-100k folder, or a folder holding it")
    parser.add_argument("--out", type=Path, help="write the JSON result here")
    parser.add_argument("--quick", action="store_true", help="few epochs and tokens: a smoke run")
    parser.add_argument("--from-json", type=Path, help="render docs from an earlier result instead of measuring")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the 'gpu' section of docs/benchmarks.md")
    parser.add_argument("--docs", type=Path, default=BENCHMARKS_MD, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.from_json:
        result = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        command = f"python -m benchmarks.gpu --data-dir {args.data_dir or '../shared/data'}" + (
            " --quick" if args.quick else "")
        result = run(data_root(args.data_dir), args.quick, command + " --write-docs")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if args.write_docs:
        write_section("gpu", markdown(result), args.docs)
        log(f"wrote the gpu section of {args.docs}")
    return result


if __name__ == "__main__":
    main()
