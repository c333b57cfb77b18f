"""A small bilingual catalog, people and feedback for chat, consumer and API tests."""
from __future__ import annotations

import pytest
from django.core.cache import cache

from recommender import selectors
from recommender.engine.llm import FakeBackend
from recommender.models import Interaction, Item, Profile

FILMS = [
    ("ml-1", "Toy Story (1995)", ["Animation", "Children's", "Comedy"], 1995, ["玩具总动员"]),
    ("ml-50", "Star Wars (1977)", ["Action", "Adventure", "Sci-Fi"], 1977, ["星球大战"]),
    ("ml-100", "Fargo (1996)", ["Crime", "Drama", "Thriller"], 1996, ["冰血暴"]),
    ("ml-56", "Pulp Fiction (1994)", ["Crime", "Drama"], 1994, ["低俗小说"]),
    ("ml-313", "Titanic (1997)", ["Drama", "Romance"], 1997, ["泰坦尼克号"]),
    ("ml-71", "Lion King, The (1994)", ["Animation", "Children's", "Musical"], 1994, ["狮子王"]),
    ("ml-183", "Alien (1979)", ["Action", "Horror", "Sci-Fi", "Thriller"], 1979, ["异形"]),
    ("ml-234", "Jaws (1975)", ["Action", "Horror"], 1975, ["大白鲨"]),
    ("ml-173", "Princess Bride, The (1987)", ["Action", "Adventure", "Comedy", "Romance"], 1987, ["公主新娘"]),
    ("ml-69", "Forrest Gump (1994)", ["Comedy", "Romance", "War"], 1994, ["阿甘正传"]),
    ("ml-204", "Back to the Future (1985)", ["Comedy", "Sci-Fi"], 1985, ["回到未来"]),
    ("ml-94", "Home Alone (1990)", ["Children's", "Comedy"], 1990, ["小鬼当家"]),
]
PRODUCTS = [
    ("p-1", "Floral Chiffon Summer Dress", {"category": "dress", "color": "pink", "season": ["summer"], "price": 39}),
    ("p-2", "Linen Summer Dress", {"category": "dress", "color": "white", "season": ["summer"], "price": 79}),
    ("p-3", "Wool Winter Coat", {"category": "coat", "color": "grey", "season": ["winter"], "price": 199}),
]


@pytest.fixture
def catalog(db):
    """Return {external_id: Item} for a dozen films and three products, with popularity from fake viewers."""
    items = {}
    for ext, title, genres, year, aliases in FILMS:
        items[ext] = Item.objects.create(source="test", external_id=ext, domain="movie", title=title,
                                         aliases=aliases, attributes={"genres": genres, "year": year},
                                         description=f"{title} description.")
    for ext, title, attributes in PRODUCTS:
        items[ext] = Item.objects.create(source="test", external_id=ext, domain="product", title=title,
                                         attributes=attributes)
    viewers = [Profile.objects.create(kind="imported", source="test", external_id=f"u{i}") for i in range(4)]
    from django.utils import timezone

    # Popularity order among films: Star Wars > Fargo > Toy Story > the rest.
    for count, ext in [(4, "ml-50"), (3, "ml-100"), (2, "ml-1"), (1, "ml-313")]:
        for viewer in viewers[:count]:
            Interaction.objects.create(profile=viewer, item=items[ext], kind="like", occurred_at=timezone.now(),
                                       origin="import")
    selectors.reset_caches()
    yield items
    selectors.reset_caches()


@pytest.fixture(autouse=True)
def quiet_engine(monkeypatch):
    """No trained model and a scripted LLM unless a test says otherwise; clean throttle counters."""
    backend = FakeBackend(default="")
    monkeypatch.setattr(selectors.SERVING, "active_bundle", lambda: None)
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: backend)
    cache.clear()
    yield backend
    cache.clear()


@pytest.fixture
def guest(db):
    """Return a guest profile tied to a stored browser session, and that session's key."""
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["guest"] = True
    session.create()
    profile = Profile.objects.create(kind="guest", session_key=session.session_key)
    return profile, session.session_key
