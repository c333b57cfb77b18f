"""Demo data: the shipped sample alone, and merged with MovieLens without duplicate films."""
import pytest
from django.core.management import call_command

from recommender.models import Interaction, Item
from recommender.services.demo import demo_load
from tests.recommender.test_importers import write_ml100k

pytestmark = pytest.mark.django_db


def test_sample_only_loads_every_domain_bilingual(tmp_path, capsys):
    call_command("load_demo", data_dir=tmp_path, no_progress=True)
    out = capsys.readouterr().out
    assert "sample catalog" in out and "no ml-100k" in out
    domains = set(Item.objects.values_list("domain", flat=True))
    assert {"product", "movie", "book", "music", "game"} <= domains
    assert Item.objects.filter(aliases__icontains="连衣裙").exists()
    assert Interaction.objects.count() > 5000


def test_with_movielens_films_are_not_duplicated(tmp_path):
    write_ml100k(tmp_path / "ml-100k")
    loaded = demo_load(data_dir=tmp_path)
    assert any("MovieLens 100K" in used for used in loaded.used)
    assert not Item.objects.filter(source="sample", domain="movie").exists()
    toy = Item.objects.get(source="ml-100k", external_id="1")
    assert "玩具总动员" in toy.aliases  # Chinese title from the shipped alias table
    sample_events = loaded.reports[-1]
    # The sample's events on films 1-3 now point at the MovieLens items; other films are not in this tiny set.
    assert Interaction.objects.filter(item__source="ml-100k", profile__source="sample").count() == 3
    assert sample_events.error_count > 0
    assert all("unknown item" in reason and "ml-100k" in reason for _, reason in sample_events.errors)
