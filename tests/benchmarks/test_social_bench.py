"""The FilmTrust benchmark's pieces on a tiny FilmTrust-shaped folder written here."""

from __future__ import annotations

import numpy as np

from benchmarks import social as bench


def write_filmtrust(folder, seed: int = 0):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    lines = []
    for u in range(1, 41):
        for i in rng.choice(30, 2 + u % 9, replace=False):
            lines.append(f"{u} {i + 1} {rng.integers(1, 9) / 2}")
    lines.append(lines[0].rsplit(" ", 1)[0] + " 0.5")  # a repeated (person, film): the last rating is kept
    (folder / "ratings.txt").write_text("\n".join(lines) + "\n", encoding="ascii")
    ties = [f"{u} {u + 1} 1" for u in range(1, 40, 3)] + ["41 1 1"]  # person 41 trusts but never rated
    (folder / "trust.txt").write_text("\n".join(ties) + "\n", encoding="ascii")
    return folder


def test_loading_keeps_the_last_repeated_rating_and_indexes_trust_only_people(tmp_path):
    ft = bench.load_filmtrust(write_filmtrust(tmp_path / "filmtrust"))
    assert ft.n_users == 41 and ft.trust.nnz == 14
    assert 0.5 in set(ft.ratings.tolist()) and len(ft.ratings) == len(set(zip(ft.users, ft.items)))


def test_ranking_groups_and_the_report(tmp_path):
    ft = bench.load_filmtrust(write_filmtrust(tmp_path / "filmtrust"))
    ranked, weights, counts = bench.ranking(ft)
    assert set(ranked) == {"popularity", "most liked among the people I trust", "EASE", "hybrid", "hybrid + social"}
    assert counts["all"] > 0 and counts["cold"] <= counts["all"]
    assert weights["hybrid"]["ease"] == 1.0 and "social" in weights["hybrid + social"]
    for row in ranked.values():
        assert 0.0 <= row["all"]["NDCG@10"] <= 1.0
    groups = bench.group_study(ft, sizes=(2,), n_groups=10)
    assert set(groups) == {"2/average", "2/least_misery"}
    fake = {"mae": 0.61, "rmse": 0.79, "mae_cold": 0.7, "rmse_cold": 0.9, "n_cold": 3.0, "seconds": 1.0}
    errors = {name: dict(fake) for name in ("biased MF", "SVD++", "TrustSVD", "hybrid (rating blend)")}
    errors["hybrid + social (blend + TrustSVD)"] = {**fake, "mae_cold": 0.69, "rmse_cold": 0.89}
    text = bench.report(ft, errors, 1, ranked, weights, counts, groups, 1.0)
    assert "| TrustSVD | 0.6100 | 0.7900 |" in text and "0.620 / ≈0.80" in text
    assert "at or below TrustSVD's published" in text and "the social blend is better" in text
