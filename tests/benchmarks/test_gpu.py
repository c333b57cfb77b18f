"""The device choice and a quick CPU run of benchmarks.gpu on synthetic ML-100K-format files."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmarks import gpu as gpu_check
from recommender.engine.rankers.mf import torch_device, use_device

GENRE_FLAGS = 19


def write_ml100k(directory, n_users: int = 40, n_items: int = 60, per_user: int = 15, seed: int = 0) -> None:
    """Write u.data, u.item, u1.base and u1.test in ML-100K's formats (tab- and pipe-separated)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(1, n_items + 1):
        flags = ["0"] * GENRE_FLAGS
        flags[1 + i % (GENRE_FLAGS - 1)] = "1"
        items.append("|".join([str(i), f"Film {i} (19{60 + i % 40})", "01-Jan-1995", "", "http://example.invalid"] + flags))
    (directory / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    base, test = [], []
    for u in range(1, n_users + 1):
        for k, i in enumerate(rng.choice(n_items, size=per_user, replace=False) + 1):
            line = f"{u}\t{i}\t{int(rng.integers(1, 6))}\t{880000000 + k}"
            (test if k < 3 else base).append(line)
    (directory / "u.data").write_text("\n".join(base + test) + "\n")
    (directory / "u1.base").write_text("\n".join(base) + "\n")
    (directory / "u1.test").write_text("\n".join(test) + "\n")


def test_device_unset_follows_cuda_availability():
    assert torch_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with use_device(None):
        assert torch_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_device_override_picks_cpu():
    with use_device("cpu") as device:
        assert device == torch_device() == torch.device("cpu")
    assert torch_device("cpu") == torch.device("cpu")


def test_device_override_rejects_unknown_name():
    with pytest.raises(RuntimeError, match="not a torch device"):
        torch_device("gpu-please")
    with pytest.raises(RuntimeError, match="not a torch device"), use_device("gpu-please"):
        pass


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_override_rejects_cuda_without_cuda():
    with pytest.raises(RuntimeError, match="not available"):
        torch_device("cuda")


def test_on_device_restores_the_previous_setting():
    with use_device("cpu"):
        with gpu_check.on_device("meta") as device:
            assert device.type == "meta" and torch_device().type == "meta"
        assert torch_device().type == "cpu"
    assert torch_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_quick_run_writes_json_and_docs(tmp_path):
    write_ml100k(tmp_path / "ml-100k")
    out, docs = tmp_path / "gpu.json", tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n<!-- BEGIN engine -->\nkept\n<!-- END engine -->\n")
    gpu_check.main(["--data-dir", str(tmp_path), "--out", str(out), "--quick", "--write-docs", "--docs", str(docs)])
    result = json.loads(out.read_text())
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    assert result["info"]["cuda_available"] is torch.cuda.is_available()
    assert list(result["mf"]["rows"]) == devices
    cpu = result["mf"]["rows"]["cpu"]
    assert cpu["device"] == "cpu" and cpu["train_s"] > 0 and 0.0 <= cpu["NDCG@5"] <= 1.0
    for part in ("svdpp", "autorec", "mf", "blend"):
        row = result["rating"]["rows"]["cpu"][part]
        assert row["fit_s"] > 0 and 0.0 < row["rmse"] < 4.0
    llm = result["llm"]["rows"]["cpu"]
    assert llm["device"] == "cpu" and llm["decode_tokens_per_s"] > 0 and llm["chunks"] >= 1
    text = docs.read_text()
    assert "<!-- BEGIN gpu -->" in text and "## GPU paths (CUDA)" in text and "kept" in text
    assert "What this does not show" in text

    # Rendering from the saved JSON gives the same section without measuring again.
    again = tmp_path / "again.md"
    gpu_check.main(["--from-json", str(out), "--write-docs", "--docs", str(again)])
    assert gpu_check.markdown(result) in again.read_text()
