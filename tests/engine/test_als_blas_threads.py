"""implicit's ALS is built and fitted with BLAS limited to one thread: no OpenBLAS warning on the console."""
import warnings

import numpy as np
import pytest

from recommender.engine.data import InteractionData
from recommender.engine.rankers.scalable import ALSRanker

pytest.importorskip("implicit")


def test_als_fits_without_implicits_blas_thread_warning(monkeypatch):
    import implicit.utils

    monkeypatch.setattr(implicit.utils, "_checked_blas_config", False)  # implicit warns once per process
    rng = np.random.default_rng(0)
    users = [f"u{i}" for i in rng.integers(0, 50, 500)]
    items = [f"i{i}" for i in rng.integers(0, 40, 500)]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(2, "blas"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ranker = ALSRanker(factors=4, iterations=2).fit(InteractionData(users, items))
    assert not [w for w in caught if "BLAS" in str(w.message)], [str(w.message) for w in caught]
    assert ranker.P.shape[1] == 4
