"""The demo's social graph: loaded with the sample, answered in both languages, private likes kept private."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.models import Interaction, Item, Profile, Relation, SocialSettings
from recommender.services.demo import demo_load
from tests.recommender.test_importers import write_ml100k

pytestmark = pytest.mark.django_db

MAX_FILMS = ("Shining", "Nightmare on Elm Street", "Interview with the Vampire", "闪灵")


def test_the_demo_graph_is_loaded_once_with_one_private_friend(tmp_path):
    demo_load(data_dir=tmp_path)
    demo_load(data_dir=tmp_path)  # idempotent
    assert Relation.objects.filter(source="sample").count() == 5
    private = set(SocialSettings.objects.filter(discoverable=False).values_list("profile__external_id", flat=True))
    assert private == {"mia", "max"}
    assert Interaction.objects.filter(profile__source="sample", profile__external_id="ana").count() == 7


def test_the_demo_answers_friend_group_and_people_requests_in_both_languages(tmp_path, capsys):
    call_command("load_demo", data_dir=tmp_path, no_progress=True)
    capsys.readouterr()
    call_command("social_demo")
    out = capsys.readouterr().out
    assert "Your friend Ana liked it." in out and "你的朋友Lea喜欢它。" in out
    assert "you and Ana should both enjoy" in out and "Max keeps their likes private" in out
    assert "People with taste like yours: Zoe" in out and "口味和你相近的人：Zoe" in out
    for title in MAX_FILMS:
        assert title not in out


def test_a_registered_user_can_be_given_the_demo_friends(tmp_path, django_user_model, capsys):
    with pytest.raises(CommandError, match="load_demo"):
        call_command("social_demo")
    demo_load(data_dir=tmp_path)
    django_user_model.objects.create_user("alice")
    call_command("social_demo", connect="alice")
    alice = Profile.objects.get(user__username="alice")
    assert set(Relation.objects.filter(profile=alice).values_list("other__external_id", flat=True)) == {
        "ana",
        "lea",
        "max",
    }


def test_with_movielens_the_demo_likes_point_at_the_movielens_films(tmp_path):
    write_ml100k(tmp_path / "ml-100k")
    demo_load(data_dir=tmp_path)
    toy = Item.objects.get(source="ml-100k", external_id="1")
    assert Interaction.objects.filter(item=toy, profile__external_id="mia").exists()
