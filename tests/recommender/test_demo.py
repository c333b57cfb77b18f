"""Demo data: the shipped sample alone, merged with MovieLens without duplicate films, and MovieLens downloaded."""
import http.server
import threading
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.models import Interaction, Item
from recommender.services import movielens
from recommender.services.demo import demo_load
from tests.recommender.test_importers import write_ml100k

pytestmark = pytest.mark.django_db


def test_sample_only_loads_every_domain_bilingual(tmp_path, capsys):
    call_command("load_demo", data_dir=tmp_path, no_progress=True)
    out = capsys.readouterr().out
    assert "sample catalog" in out and "no ml-100k" in out and "DATA=ml-latest-small" in out
    domains = set(Item.objects.values_list("domain", flat=True))
    assert {"product", "movie", "book", "music", "game"} <= domains
    assert Item.objects.filter(aliases__icontains="连衣裙").exists()
    assert Interaction.objects.count() > 5000


def test_sample_holds_what_the_readme_and_the_starters_name(tmp_path):
    demo_load(data_dir=tmp_path)
    matrix = Item.objects.get(source="sample", title="Matrix, The (1999)")
    assert matrix.domain == "movie" and matrix.attributes["year"] == 1999
    assert {"Action", "Sci-Fi"} <= set(matrix.attributes["genres"]) and "黑客帝国" in matrix.aliases
    assert Item.objects.filter(source="sample", title="Inception (2010)", domain="movie").exists()
    assert Item.objects.filter(domain="music", attributes__genres__icontains="ambient").count() >= 3
    assert Item.objects.filter(domain="music", attributes__genres__icontains="dance").count() >= 3
    assert Item.objects.filter(domain="product", attributes__price__lt=50).count() >= 20


def test_with_movielens_films_are_not_duplicated(tmp_path):
    write_ml100k(tmp_path / "ml-100k")
    loaded = demo_load(data_dir=tmp_path)
    assert any("MovieLens ml-100k" in used and "3 films" in used for used in loaded.used)
    assert Item.objects.filter(title="Toy Story (1995)").count() == 1
    toy = Item.objects.get(source="ml-100k", external_id="1")
    assert "玩具总动员" in toy.aliases  # Chinese title from the shipped alias table
    # Films this MovieLens lacks stay as sample items, with their events.
    matrix = Item.objects.get(source="sample", title="Matrix, The (1999)")
    assert Interaction.objects.filter(item=matrix).exists()
    # The sample's events on Toy Story and Scream now point at the MovieLens items; none is lost.
    moved = Interaction.objects.filter(item__source="ml-100k", profile__source="sample").count()
    assert moved == Interaction.objects.filter(item=toy, profile__source="sample").count() + Interaction.objects.filter(
        item__source="ml-100k", item__external_id="3", profile__source="sample").count() > 0
    assert loaded.reports[-1].error_count == 0


def small_latest_zip(folder: Path) -> Path:
    """Write ml-latest-small.zip holding a three-film ml-latest-small/ folder (films the sample also has, one of
    them spelled differently)."""
    archive = folder / "ml-latest-small.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ml-latest-small/movies.csv",
                        "movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation|Children\r\n"
                        '2571,"Matrix, The (1999)",Action|Sci-Fi|Thriller\r\n'
                        "32,Twelve Monkeys (a.k.a. 12 Monkeys) (1995),Mystery|Sci-Fi|Thriller\r\n")
        bundle.writestr("ml-latest-small/ratings.csv",
                        "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,2571,5.0,964981247\r\n"
                        "2,2571,4.5,964983815\r\n")
    return archive


@pytest.fixture
def grouplens(tmp_path, monkeypatch):
    """Serve a small ml-latest-small.zip over HTTP on 127.0.0.1 and point the GroupLens URL at it."""
    served = tmp_path / "served"
    served.mkdir()
    small_latest_zip(served)
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **kw)  # noqa: E731
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(movielens, "GROUPLENS_URL", f"http://127.0.0.1:{server.server_port}/{{name}}.zip")
    yield server
    server.shutdown()
    server.server_close()


def test_data_ml_latest_small_is_downloaded_imported_and_named(tmp_path, grouplens, settings, capsys):
    settings.VAR_DIR = tmp_path / "var"
    call_command("load_demo", data_dir=tmp_path / "no-data", data="ml-latest-small", no_progress=True)
    out = capsys.readouterr().out
    assert "MovieLens ml-latest-small from http://127.0.0.1:" in out and "3 films, 3 ratings" in out
    assert (tmp_path / "var" / "downloads" / "ml-latest-small" / "movies.csv").is_file()
    assert Item.objects.filter(title="Matrix, The (1999)").count() == 1  # the sample's copy is not imported
    assert not Item.objects.filter(title="Twelve Monkeys (1995)").exists()  # nor one spelled differently
    matrix = Item.objects.get(source="ml-latest-small", external_id="2571")
    assert Interaction.objects.filter(item=matrix, profile__source="sample").exists()
    # A second run reads the kept download: no server needed.
    grouplens.shutdown()
    call_command("load_demo", data_dir=tmp_path / "no-data", data="ml-latest-small", no_progress=True)
    assert Item.objects.filter(title="Matrix, The (1999)").count() == 1


def test_data_that_is_neither_a_folder_nor_an_archive_is_one_error(tmp_path):
    with pytest.raises(CommandError, match="DATA='ml-nope' is neither a folder nor a MovieLens archive"):
        call_command("load_demo", data_dir=tmp_path, data="ml-nope", no_progress=True)
