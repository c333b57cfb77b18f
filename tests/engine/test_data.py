import numpy as np

from recommender.engine.data import (
    InteractionData,
    liked_holdout_split,
    load_ml100k,
    load_ml100k_fold,
    load_ml_latest,
    random_split,
)


def _write_ml100k(tmp_path):
    d = tmp_path / "ml-100k"
    d.mkdir()
    flags = ["0"] * 19
    scifi = list(flags)
    scifi[15] = "1"
    lines = [
        "1|Am\xe9lie (2001)|01-Jan-2001||http://x|" + "|".join(flags[:5] + ["1"] + flags[6:]),
        "2|Alien (1979)|01-Jan-1979||http://x|" + "|".join(scifi),
        "3|No Year|01-Jan-1995||http://x|" + "|".join(flags),
    ]
    (d / "u.item").write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    ratings = "1\t1\t5\t10\r\n1\t2\t3\t11\r\n2\t2\t4\t12\r\n2\t3\t1\t13\r\n"
    (d / "u.data").write_bytes(ratings.encode("latin-1"))
    (d / "u1.base").write_bytes("1\t1\t5\t10\n2\t2\t4\t12\n".encode("latin-1"))
    (d / "u1.test").write_bytes("1\t2\t3\t11\n".encode("latin-1"))
    return d


def test_ml100k_loader_reads_latin1_crlf(tmp_path):
    data = load_ml100k(_write_ml100k(tmp_path))
    assert data.items["1"].title == "Amélie (2001)"
    assert data.items["1"].attributes == {"genres": ["Comedy"], "year": 2001}
    assert data.items["2"].attributes["genres"] == ["Sci-Fi"]
    assert data.items["3"].attributes["year"] == 1995  # from the release date when the title has none
    assert data.n_users == 2 and data.n_items == 3 and data.n_interactions == 4
    assert data.explicit()[data.user_index["2"], data.item_index["3"]] == 1.0
    assert data.implicit().nnz == 4


def test_ml100k_fold_shares_index_maps(tmp_path):
    train, test = load_ml100k_fold(_write_ml100k(tmp_path), 1)
    assert train.n_interactions == 2 and test.n_interactions == 1
    assert train.item_index is test.item_index
    assert test.values.tolist() == [3.0]


def test_ml_latest_loader_handles_crlf_csv(tmp_path):
    d = tmp_path / "ml-latest-small"
    d.mkdir()
    (d / "movies.csv").write_bytes(b'movieId,title,genres\r\n1,"Heat, The (1995)",Action|Crime\r\n2,Odd,(no genres listed)\r\n')
    (d / "ratings.csv").write_bytes(b"userId,movieId,rating,timestamp\r\n1,1,4.5,100\r\n1,2,2.0,101\r\n")
    (d / "tags.csv").write_bytes(b"userId,movieId,tag,timestamp\r\n1,1,heist,100\r\n")
    data = load_ml_latest(d)
    assert data.items["1"].title == "Heat, The (1995)"
    assert data.items["1"].attributes == {"genres": ["Action", "Crime"], "year": 1995, "tags": ["heist"]}
    assert data.items["2"].attributes == {"genres": []}
    assert data.values.tolist() == [4.5, 2.0]


def test_ml_latest_loader_reads_utf8(tmp_path):
    # ml-latest-small is UTF-8 (its README says so); read as Latin-1, "Amélie" came out as "AmÃ©lie".
    d = tmp_path / "ml-latest-small"
    d.mkdir()
    (d / "movies.csv").write_bytes('movieId,title,genres\r\n'
                                   '4973,"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance\r\n'
                                   '5618,Spirited Away (Sen to Chihiro no kamikakushi) (2001),Animation\r\n'.encode())
    (d / "ratings.csv").write_bytes(b"userId,movieId,rating,timestamp\r\n1,4973,5.0,100\r\n")
    (d / "tags.csv").write_bytes("userId,movieId,tag,timestamp\r\n1,4973,café,100\r\n1,5618,宫崎骏,101\r\n".encode())
    data = load_ml_latest(d)
    assert data.items["4973"].title == "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)"
    assert data.items["4973"].attributes["tags"] == ["café"]
    assert data.items["5618"].attributes["tags"] == ["宫崎骏"]


def test_constructor_keeps_cold_items_and_duplicates_take_latest():
    from recommender.engine.types import ItemRecord

    data = InteractionData(["a", "a"], ["x", "x"], [2.0, 5.0], timestamps=[2, 1],
                           items=[ItemRecord("cold", "Cold")])
    assert data.item_ids == ["cold", "x"]
    assert data.explicit()[0, data.item_index["x"]] == 2.0  # timestamp 2 is the latest


def test_splits_are_seeded_and_disjoint(data):
    a1, a2 = random_split(data, 0.2, seed=3), random_split(data, 0.2, seed=3)
    assert np.array_equal(a1.test.rows, a2.test.rows) and np.array_equal(a1.test.cols, a2.test.cols)
    assert a1.train.n_interactions + a1.test.n_interactions == data.n_interactions
    assert a1.test.n_interactions == 30 * 2  # 8 per user, 20 % rounds to 2
    train_pairs = set(zip(a1.train.rows.tolist(), a1.train.cols.tolist()))
    assert not train_pairs & set(zip(a1.test.rows.tolist(), a1.test.cols.tolist()))
    b = liked_holdout_split(data, 0.2, seed=0)
    assert (b.test.values >= 4).all()
    assert all(len(v) >= 1 for v in b.test_items.values())
