"""Importers on small files the tests write: formats, encodings, malformed rows, re-import."""
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recommender.models import Interaction, Item, Profile
from recommender.services.importers import ImportFileError, import_catalog, import_interactions
from recommender.services.movielens import detect_flavour, download_movielens, import_movielens

pytestmark = pytest.mark.django_db

GENRES = "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\nDocumentary|7\nDrama|8\n" \
         "Fantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\nRomance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n"


def flags(*on: int) -> str:
    return "|".join("1" if i in on else "0" for i in range(19))


def write_ml100k(folder: Path, *, bad_rating_line: bool = False) -> Path:
    folder.mkdir()
    (folder / "u.genre").write_text(GENRES, encoding="latin-1")
    items = [
        f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags(3, 4, 5)}",
        f"2|Cité des enfants perdus, La (1995)|01-Jan-1995||http://x|{flags(9, 15)}",
        f"3|Scream (1996)|20-Dec-1996||http://x|{flags(11, 16)}",
    ]
    (folder / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n", encoding="latin-1")
    ratings = ["1\t1\t5\t874965758", "1\t3\t2\t874965759", "2\t2\t4\t874965760"]
    if bad_rating_line:
        ratings.insert(1, "1\tnot-a-movie")
    (folder / "u.data").write_text("\n".join(ratings) + "\n", encoding="latin-1")
    return folder


def write_latest(folder: Path) -> Path:
    folder.mkdir()
    crlf = "\r\n"
    (folder / "movies.csv").write_bytes(crlf.join([
        "movieId,title,genres",
        '1,"American President, The (1995)",Comedy|Drama|Romance',
        "2,Heat (1995),Action|Crime|Thriller",
        "3,Unknown Film,(no genres listed)",
    ]).encode() + crlf.encode())
    (folder / "ratings.csv").write_bytes(crlf.join([
        "userId,movieId,rating,timestamp", "1,1,4.0,964982703", "1,2,3.5,964981247", "2,2,oops,964981247",
        "2,99,4.0,964981247",
    ]).encode() + crlf.encode())
    (folder / "tags.csv").write_bytes(crlf.join([
        "userId,movieId,tag,timestamp", "1,2,heist,1445714994", "2,2,Al Pacino,1445714995",
    ]).encode() + crlf.encode())
    return folder


def test_ml100k_import_latin1_genres_year_and_reimport(tmp_path):
    folder = write_ml100k(tmp_path / "ml-100k")
    assert detect_flavour(folder) == "100k"
    reports = import_movielens(folder, alias_path=tmp_path / "none.csv")
    assert [r.created for r in reports] == [3, 2, 3]
    film = Item.objects.get(source="ml-100k", external_id="2")
    assert film.title == "Cité des enfants perdus, La (1995)"  # Latin-1 decoded
    assert film.attributes["genres"] == ["Fantasy", "Sci-Fi"]
    assert film.attributes["year"] == 1995
    toy = Item.objects.get(source="ml-100k", external_id="1")
    assert toy.attributes["genres"] == ["Animation", "Children's", "Comedy"]
    user = Profile.objects.get(source="ml-100k", external_id="2")
    assert user.demographics == {"age": 53, "gender": "F", "occupation": "other", "zip": "94043"}
    rating = Interaction.objects.get(profile__external_id="1", item=toy)
    assert (rating.kind, rating.value, rating.origin) == ("rating", 5.0, "import")

    again = import_movielens(folder, alias_path=tmp_path / "none.csv")
    assert Item.objects.count() == 3 and Interaction.objects.count() == 3 and Profile.objects.count() == 2
    assert again[2].duplicates == 3 and again[2].created == 0


def test_ml100k_bad_row_reported_rest_kept(tmp_path):
    folder = write_ml100k(tmp_path / "ml-100k", bad_rating_line=True)
    reports = import_movielens(folder, alias_path=tmp_path / "none.csv")
    ratings = reports[2]
    assert ratings.error_count == 1 and ratings.errors[0][0] == 2
    assert Interaction.objects.count() == 3


def test_latest_csv_crlf_tags_and_bad_rows(tmp_path):
    folder = write_latest(tmp_path / "ml-latest-small")
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("movielens_title,alias\nHeat (1995),盗火线\n", encoding="utf-8")
    items, tags, ratings = import_movielens(folder, alias_path=aliases)
    assert items.created == 3
    heat = Item.objects.get(source="ml-latest-small", external_id="2")
    assert heat.title == "Heat (1995)"
    assert heat.attributes["genres"] == ["Action", "Crime", "Thriller"]
    assert heat.attributes["tags"] == ["heist", "Al Pacino"]
    assert "heist" in heat.description
    assert heat.aliases == ["盗火线"]
    assert Item.objects.get(source="ml-latest-small", external_id="3").attributes["genres"] == []
    assert Item.objects.get(source="ml-latest-small", external_id="1").title == "American President, The (1995)"
    assert ratings.created == 2
    reasons = dict(ratings.errors)
    assert set(reasons) == {4, 5}
    assert "unknown movie id 99" in reasons[5]


def test_not_a_movielens_folder_is_one_clear_error(tmp_path):
    (tmp_path / "junk.txt").write_text("hello")
    with pytest.raises(ImportFileError, match="not a MovieLens folder"):
        import_movielens(tmp_path)
    with pytest.raises(CommandError, match="not a directory"):
        call_command("import_movielens", path=tmp_path / "missing", no_progress=True)


def test_download_offline_fails_fast_naming_path(tmp_path, monkeypatch):
    import urllib.request

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(ImportFileError, match="--path"):
        download_movielens("ml-100k", tmp_path)
    assert not any(tmp_path.iterdir())


def catalog_rows() -> list[dict]:
    return [
        {"external_id": "d1", "domain": "product", "title": "Linen summer dress", "aliases": ["亚麻连衣裙"],
         "attributes": {"category": "dress", "color": "white", "season": ["summer"], "price": 59.0}},
        {"external_id": "j1", "domain": "product", "title": "Down jacket", "description": "Warm",
         "attributes": {"category": "jacket", "season": ["winter"], "price": 199}},
    ]


def test_catalog_jsonl_with_bad_lines_and_reimport(tmp_path):
    path = tmp_path / "catalog.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in catalog_rows()]
    lines.insert(1, "{not json")
    lines.append(json.dumps({"external_id": "x"}))  # no title
    lines.append(json.dumps(["a list"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_catalog(path)
    assert report.created == 2
    assert [line for line, _ in report.errors] == [2, 4, 5]
    assert "missing title" in report.errors[1][1]
    dress = Item.objects.get(external_id="d1")
    assert dress.aliases == ["亚麻连衣裙"] and dress.attributes["price"] == 59.0

    rows = catalog_rows()
    rows[0]["title"] = "Linen summer dress (new season)"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    again = import_catalog(path)
    assert (again.created, again.updated, again.duplicates) == (0, 1, 1)  # only the changed row is rewritten
    assert Item.objects.count() == 2
    assert Item.objects.get(external_id="d1").title.endswith("(new season)")


def test_catalog_csv_extra_columns_become_attributes(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes("external_id,title,domain,aliases,color,season,price\r\n"
                     "s1,Canvas sneakers,product,帆布鞋,white,spring|summer,35\r\n"
                     "s2,Broken row,product\r\n".encode())
    report = import_catalog(path)
    assert (report.created, report.error_count) == (2, 0)  # missing optional cells are allowed
    shoe = Item.objects.get(external_id="s1")
    assert shoe.attributes == {"color": "white", "season": ["spring", "summer"], "price": 35}
    assert shoe.aliases == ["帆布鞋"]


def test_catalog_strict_mode_writes_nothing(tmp_path):
    path = tmp_path / "catalog.jsonl"
    path.write_text(json.dumps(catalog_rows()[0]) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(CommandError, match="strict"):
        call_command("import_catalog", str(path), strict=True, no_progress=True)
    assert Item.objects.count() == 0


def test_wrong_format_file_is_one_clear_error(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("name,price\nfoo,1\n")
    with pytest.raises(ImportFileError, match="missing column"):
        import_catalog(path)
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(ImportFileError, match="UTF-8"):
        import_catalog(binary)
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_catalog", str(tmp_path / "missing.csv"), no_progress=True)


def test_interactions_csv_unknown_items_idempotent(tmp_path):
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("\n".join(json.dumps(r) for r in catalog_rows()) + "\n")
    import_catalog(catalog)
    events = tmp_path / "events.csv"
    events.write_text(
        "user,item,event,value,timestamp\n"
        "u1,d1,purchase,,2026-05-01T10:00:00Z\n"
        "u1,j1,rating,4.5,1714557600\n"
        "u2,d1,favorite,,2026-05-02 08:00:00\n"
        "u2,zz,click,,2026-05-02T08:00:00Z\n"
        "u3,d1,rating,9,2026-05-02T08:00:00Z\n"
        "u3,d1,teleport,,2026-05-02T08:00:00Z\n",
        encoding="utf-8",
    )
    report = import_interactions(events)
    assert report.created == 3
    reasons = dict(report.errors)
    assert "unknown item 'zz'" in reasons[5]
    assert "rating needs a value" in reasons[6]
    assert "unknown event 'teleport'" in reasons[7]
    assert Interaction.objects.get(profile__external_id="u2").kind == "favourite"
    again = import_interactions(events)
    assert again.created == 0 and again.duplicates == 3
    assert Interaction.objects.count() == 3


def test_interactions_jsonl_explicit_keys(tmp_path):
    Item.objects.create(external_id="a", title="A", domain="game")
    events = tmp_path / "events.jsonl"
    rows = [{"user": "7", "item": "a", "event": "like", "key": "client-1"},
            {"user": "7", "item": "a", "event": "like", "key": "client-1"}]
    events.write_text("\n".join(json.dumps(r) for r in rows))
    report = import_interactions(events)
    assert (report.created, report.duplicates) == (1, 1)
    assert Interaction.objects.get().idempotency_key == "client-1"


def test_import_commands_print_summary(tmp_path, capsys):
    folder = write_ml100k(tmp_path / "ml-100k", bad_rating_line=True)
    call_command("import_movielens", path=folder, no_progress=True)
    out = capsys.readouterr().out
    assert "u.data: 4 rows read, 3 created" in out
    assert "line 2:" in out
