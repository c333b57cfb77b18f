"""Intent and slots on hand-written turns over a small synthetic catalog."""
import pytest

from recommender.engine.understanding import ConversationState, understand


def test_genre_and_decade_in_english(movies):
    u = understand("Recommend some scary movies from the 90s", catalog=movies)
    assert u.intent == "recommend" and u.language == "en"
    assert u.include == {"genres": ["Horror"]}
    assert u.ranges == {"year": [1990, 1999]}
    assert u.domain == "movie"


def test_chinese_genre_decade_and_negation(movies):
    u = understand("推荐九十年代的科幻片，不要恐怖片", catalog=movies)
    assert u.language == "zh"
    assert u.include == {"genres": ["Sci-Fi"]}
    assert u.exclude == {"genres": ["Horror"]}
    assert u.ranges == {"year": [1990, 1999]}


def test_negation_scope_ends_at_contrast(movies):
    u = understand("no romance, but something funny", catalog=movies)
    assert u.exclude == {"genres": ["Romance"]}
    assert u.include == {"genres": ["Comedy"]}
    u = understand("I want action but not sci-fi", catalog=movies)
    assert u.include == {"genres": ["Action"]} and u.exclude == {"genres": ["Sci-Fi"]}


def test_title_linking_forms(movies):
    for text in ["something like The Matrix", "something like the matrix", "像《黑客帝国》一样的", "more like Matrix please"]:
        u = understand(text, catalog=movies)
        assert [r.item_id for r in u.referenced_items] == ["ml-2"], text
        assert u.referenced_items[0].sentiment == "liked"
    assert understand("像《黑客帝国》一样的", catalog=movies).referenced_items[0].via == "alias"


def test_colon_prefix_and_article_forms(movies):
    assert understand("I loved Terminator 2", catalog=movies).referenced_items[0].item_id == "ml-10"
    u = understand("I loved The Good, the Bad and the Ugly", catalog=movies)
    assert u.referenced_items[0].item_id == "ml-12"


def test_ambiguous_title_prefers_popular(movies):
    u = understand("I liked Heat a lot", catalog=movies)
    assert [r.item_id for r in u.referenced_items] == ["ml-7"]


def test_common_word_title_needs_evidence(movies):
    u = understand("give me a few war movies", catalog=movies)
    assert u.referenced_items == []
    assert u.include == {"genres": ["War"]}


def test_feedback_with_ordinal(movies):
    state = ConversationState()
    state.set_last_items(["ml-1", "ml-3", "ml-4"])
    u = understand("the second one was boring", state=state, catalog=movies)
    assert u.intent == "recommend"  # a reaction to a suggestion asks for a refreshed list
    assert [(r.item_id, r.sentiment, r.via) for r in u.referenced_items] == [("ml-3", "disliked", "ordinal")]
    u = understand("第三个不错", state=state, catalog=movies)
    assert [(r.item_id, r.sentiment) for r in u.referenced_items] == [("ml-4", "liked")]
    assert understand("最后一个", state=state, catalog=movies).referenced_items[0].item_id == "ml-4"


def test_ask_info_fields(movies):
    u = understand("What year did Titanic come out?", catalog=movies)
    assert (u.intent, u.ask_field) == ("ask_info", "year")
    assert u.referenced_items[0].sentiment == "neutral"
    u = understand("《泰坦尼克号》讲的是什么？", catalog=movies)
    assert (u.intent, u.ask_field) == ("ask_info", "description")


def test_pronoun_follows_the_focus_item(movies):
    state = ConversationState()
    state.set_last_items(["ml-1", "ml-3"])
    state.apply(understand("the first one looks great", state=state, catalog=movies))
    u = understand("what's it about?", state=state, catalog=movies)
    assert u.intent == "ask_info" and u.referenced_items[0].item_id == "ml-1"


def test_chitchat(movies):
    for text in ["hi there!", "谢谢你！", "thanks, bye", "你好"]:
        assert understand(text, catalog=movies).intent == "chitchat", text


def test_refinement_replaces(movies):
    state = ConversationState()
    state.apply(understand("我想看喜剧", state=state, catalog=movies))
    u = understand("算了，我更想看动画片", state=state, catalog=movies)
    assert u.replace and u.include == {"genres": ["Animation"]}


def test_products_prices_and_attributes(shop):
    u = understand("a red summer dress under $50", catalog=shop)
    assert u.include == {"category": ["dress"], "color": ["red"], "season": ["summer"]}
    assert u.ranges == {"price": [None, 50]}
    u = understand("男士皮夹克，200元以内，不要黑色", catalog=shop)
    assert u.include == {"gender": ["men"], "material": ["leather"], "category": ["jacket"]}
    assert u.exclude == {"color": ["black"]}
    assert u.ranges == {"price": [None, 200]}


@pytest.mark.parametrize("text, bound", [("a leather jacket under 100", [None, 100]),
                                         ("white sneakers under 80, nothing black", [None, 80]),
                                         ("a summer dress over 30", [30, None]),
                                         ("a red dress for less than 49.5.", [None, 49.5])])
def test_a_bound_without_currency_is_a_price_where_the_kind_asked_for_has_prices(shop, text, bound):
    assert understand(text, catalog=shop).ranges == {"price": bound}


@pytest.mark.parametrize("text", ["films under 100", "movies under 100 minutes", "a film for kids under 12",
                                  "a book over 500 pages"])
def test_a_bound_without_currency_is_no_price_for_kinds_without_prices_or_with_a_unit(shop, text):
    assert "price" not in understand(text, catalog=shop).ranges


def test_cross_domain_request(shop):
    u = understand("a book for someone who loved The Matrix", catalog=shop)
    assert u.intent == "recommend" and u.domain == "book"
    assert u.target_domain == "book" and u.source_items == ["ml-2"]
    assert u.referenced_items[0].sentiment == "liked"


def test_synonym_needs_catalog_value(shop):
    # The shop holds no horror films, so "horror" is not grounded as a genre value there.
    u = understand("horror please", catalog=shop)
    assert "genres" not in u.include


def test_keywords_are_english_and_skip_negated_words(movies):
    u = understand("a film about dinosaurs but not too gory", catalog=movies)
    assert "dinosaurs" in u.keywords and not any("gory" in k for k in u.keywords)
    u = understand("想看关于恐龙的电影", catalog=movies)
    assert "dinosaurs" in u.keywords


def test_round_trip_dict(movies):
    from recommender.engine.understanding import Understanding

    u = understand("something like Toy Story from the 90s", catalog=movies)
    again = Understanding.from_dict(u.to_dict())
    assert again.to_dict() == u.to_dict()


@pytest.mark.parametrize(
    ("text", "excluded"),
    [
        ("something like The Matrix but less violent", ["Horror", "War"]),
        ("不要太暴力的电影", ["Horror", "War"]),
        ("a film that is not too scary", ["Horror"]),
        ("算了，来点轻松一点的", ["Horror", "War"]),  # Film-Noir is not in this catalog, so it is not excluded
    ],
)
def test_less_intensity_excludes_the_genres_that_carry_it(movies, text, excluded):
    u = understand(text, catalog=movies)
    assert u.intent == "recommend"
    assert u.exclude.get("genres") == excluded


def test_less_intensity_needs_a_catalog_with_those_genres(shop):
    u = understand("lighter jackets for spring", catalog=shop)
    assert u.exclude == {} and u.include["category"] == ["jacket"]


def test_less_intensity_never_removes_what_was_asked_for(movies):
    u = understand("something scary but not too gory", catalog=movies)
    assert u.include.get("genres") == ["Horror"]
    assert "Horror" not in u.exclude.get("genres", [])


@pytest.mark.parametrize("text, unknown", [
    ("something like Blade Runner but less violent", ["Blade Runner"]),
    ("books like Harry Potter please", ["Harry Potter"]),
    ("类似《银翼杀手》的电影", ["银翼杀手"]),
    ("something like The Matrix but less violent", []),  # in the catalog: linked, not unknown
    ("类似《黑客帝国》的电影", []),
    ("I like Sci-Fi movies", []),  # a genre, not a title
    ("like I said, something fun", []),
])
def test_titles_the_catalog_does_not_hold_are_reported(movies, text, unknown):
    u = understand(text, catalog=movies)
    assert u.unknown_titles == unknown
    assert u.intent == "recommend"


@pytest.mark.parametrize("text, alike", [
    ("Something like The Matrix and Titanic", True), ("movies similar to Toy Story or The Lion King", True),
    ("有没有类似《泰坦尼克号》和《卡萨布兰卡》的电影", True), ("I love The Matrix and Titanic. What else should I watch?", False),
    ("I like The Matrix and Titanic", False), ("I've seen The Matrix and Titanic. Anything similar?", True),
])
def test_a_request_for_items_like_the_named_ones_is_told_from_a_taste(movies, text, alike):
    u = understand(text, catalog=movies)
    assert u.intent == "recommend" and len(u.referenced_items) >= 1
    assert u.alike is alike
    state = ConversationState()
    state.apply(u)
    assert state.profile().alike is alike


@pytest.mark.parametrize("text, keyword", [("I want a feel-good movie", "feel-good"), ("a feel good film", "feel-good"),
                                           ("something light hearted", "light-hearted")])
def test_a_mood_with_a_word_of_praise_inside_stays_a_keyword(movies, text, keyword):
    assert keyword in understand(text, catalog=movies).keywords


def test_words_of_the_conversation_itself_are_no_keywords(movies):
    u = understand("Hi, have you seen any good movies lately? I'm a huge fan, regardless of genre", catalog=movies)
    assert not {"lately", "huge", "fan", "regardless", "genre"} & set(" ".join(u.keywords).split())


def test_a_family_film_is_a_childrens_film(movies):
    assert "Children's" in understand("a good family friendly movie", catalog=movies).include.get("genres", [])
    assert "Children's" in understand("适合全家一起看的电影", catalog=movies).include.get("genres", [])


def test_not_seen_yet_covers_only_the_items_its_own_sentence_leads_to(movies):
    state = ConversationState()
    state.apply(understand("I haven't seen much this year. I loved Heat and Titanic, anything else?", catalog=movies))
    assert set(state.profile().liked) == {"ml-4", "ml-7"}


def test_a_title_is_found_by_its_name_after_a_credit():
    from recommender.engine.types import ItemRecord
    from recommender.engine.understanding import CatalogIndex

    games = CatalogIndex([ItemRecord("g1", "Sid Meier's Civilization VI", "game", attributes={"genres": ["strategy"]}),
                          ItemRecord("m1", "Schindler's List (1993)", "movie", attributes={"genres": ["Drama"]}),
                          ItemRecord("g2", "Stellaris", "game", attributes={"genres": ["strategy"]})])
    u = understand("a strategy game like Civilization", catalog=games)
    assert [r.item_id for r in u.referenced_items] == ["g1"]
    # One possessive word is the name itself: "List" is no title.
    assert not understand("something like List", catalog=games).referenced_items
