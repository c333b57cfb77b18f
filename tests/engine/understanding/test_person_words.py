"""Words that mean what people mean: refusals and degree, seen and disliked, other people's taste, lists of
titles, compound genres, accepting an offer to loosen a filter, and limits written with < and >."""
import pytest

from recommender.engine.types import ItemRecord
from recommender.engine.understanding import CatalogIndex, ConversationState, understand
from recommender.engine.understanding.text import clean


def refs(u):
    return {r.item_id: (r.sentiment, r.reaction) for r in u.referenced_items}


# ---------------------------------------------------------------- negation and degree


@pytest.mark.parametrize("text", ["a comedy that isn't too romantic", "less romance please", "comedy, not too romantic",
                                  "喜剧，不太要爱情", "喜剧，别太浪漫"])
def test_degree_words_refuse_what_follows_them(movies, text):
    u = understand(text, catalog=movies)
    assert "Romance" not in u.include.get("genres", []), text
    assert "Romance" in u.exclude.get("genres", []), text


@pytest.mark.parametrize("text", ["something not too violent", "不太暴力的电影", "no gore please", "without gore"])
def test_wanting_less_violence_excludes_the_violent_genres(movies, text):
    u = understand(text, catalog=movies)
    assert u.exclude.get("genres") == ["Horror", "War"], text
    assert not u.include and "violent" not in u.keywords and "gore" not in u.keywords


@pytest.mark.parametrize("text", ["nothing feel-good or light-hearted", "not too feel-good", "我不想看轻松的"])
def test_a_refused_mood_is_neither_a_wish_nor_a_wish_for_lightness(movies, text):
    u = understand(text, catalog=movies)
    assert not {"feel-good", "light-hearted", "light"} & set(u.keywords), text
    assert not u.exclude, text  # refusing lightness does not refuse the dark genres


def test_wanting_something_lighter_still_excludes_the_dark_genres(movies):
    u = understand("something light-hearted", catalog=movies)
    assert "light-hearted" in u.keywords and "Horror" in u.exclude.get("genres", [])


def test_light_music_in_chinese_is_a_wish_for_relaxing_music():
    music = CatalogIndex([ItemRecord("m1", "Calm", "music", attributes={"genres": ["ambient"]}),
                          ItemRecord("m2", "Loud", "music", attributes={"genres": ["rock"]})])
    u = understand("我想听轻音乐", catalog=music)
    assert u.domain == "music" and "relaxing instrumental" in u.keywords


def test_a_chinese_feature_word_is_read_as_the_english_one(shop):
    u = understand("我想买一副降噪耳机", catalog=shop)
    assert "noise-cancelling" in u.keywords


def test_less_than_is_a_bound_not_a_refusal(shop):
    u = understand("a dress for less than 50 dollars", catalog=shop)
    assert u.include == {"category": ["dress"]} and u.ranges == {"price": [None, 50]} and not u.exclude


def test_negation_words_never_become_keywords(movies):
    u = understand("a comedy without romance that isn't too long", catalog=movies)
    assert u.include == {"genres": ["Comedy"]} and u.exclude == {"genres": ["Romance"]}
    assert not {"without", "long", "isnt"} & set(u.keywords)


def test_a_refused_free_form_tag_is_avoided_not_preferred():
    tagged = [ItemRecord(f"t{i}", f"Film {i}", "movie", attributes={"tags": [f"tag{i}", f"tag{i + 1}", "violent"]})
              for i in range(30)]
    index = CatalogIndex(tagged, free_form=["tags"])
    u = understand("something like Film 3 but less violent", catalog=index)
    assert u.avoid == {"tags": ["violent"]} and "tags" not in u.prefer


# ---------------------------------------------------------------- seen, disliked, someone else's taste


def test_several_seen_titles_are_seen_and_not_liked(movies):
    u = understand("I've seen Titanic and Scream already", catalog=movies)
    assert refs(u) == {"ml-4": ("neutral", "seen"), "ml-3": ("neutral", "seen")}
    state = ConversationState()
    state.apply(u)
    assert state.liked == [] and {"ml-3", "ml-4"} <= set(state.constraints().exclude_items)


def test_seen_titles_in_chinese(movies):
    u = understand("我已经看过泰坦尼克号和狮子王了", catalog=movies)
    assert refs(u) == {"ml-4": ("neutral", "seen"), "ml-9": ("neutral", "seen")}


def test_seen_and_liked_in_one_sentence_keeps_the_like(movies):
    u = understand("I've seen Titanic and loved it", catalog=movies)
    assert refs(u) == {"ml-4": ("liked", "seen")}


@pytest.mark.parametrize("text", ["Titanic was boring", "I can't stand Titanic", "泰坦尼克号太无聊了", "我受不了泰坦尼克号"])
def test_boring_and_cannot_stand_are_dislikes(movies, text):
    assert refs(understand(text, catalog=movies)) == {"ml-4": ("disliked", "")}, text


def test_someone_elses_taste_is_not_the_speakers_like(movies):
    u = understand("my sister loves Titanic but I can't stand it", catalog=movies)
    assert refs(u) == {"ml-4": ("disliked", "")}
    assert not u.include  # "my sister" is whose taste it is, not a wish for women's sizes
    assert refs(understand("my sister loves Titanic, anything similar?", catalog=movies)) == {"ml-4": ("neutral", "")}
    assert refs(understand("我女朋友喜欢泰坦尼克号", catalog=movies)) == {"ml-4": ("neutral", "")}
    assert refs(understand("我女朋友喜欢泰坦尼克号，但我受不了", catalog=movies)) == {"ml-4": ("disliked", "")}
    assert refs(understand("my sister loves Titanic and I love it too", catalog=movies)) == {"ml-4": ("liked", "")}
    assert understand("my sister loves Titanic but I cannot stand it", catalog=movies).keywords == []


def test_people_words_next_to_a_film_are_not_a_wish_for_womens_sizes(shop):
    u = understand("my wife and I loved Toy Story", catalog=shop)  # products with genders, and two films
    assert refs(u) == {"ml-1": ("liked", "")} and not u.include and not u.keywords
    assert understand("a dress for my wife", catalog=shop).include == {"category": ["dress"], "gender": ["women"]}


def test_whose_taste_it_is_gives_no_keywords(movies):
    u = understand("My boyfriend is obsessed with Star Wars", catalog=movies)
    assert refs(u) == {"ml-6": ("neutral", "")} and u.keywords == []
    u = understand("I'd like a comedy, my husband hates romance", catalog=movies)
    assert u.include == {"genres": ["Comedy"]} and u.exclude == {"genres": ["Romance"]} and u.keywords == []


def test_a_gift_for_someone_keeps_their_words_as_wishes(shop):
    u = understand("a dress for my sister, she loves red", catalog=shop)
    assert u.include == {"category": ["dress"], "gender": ["women"], "color": ["red"]}


def test_other_is_not_he(movies):
    u = understand("其他喜欢的电影也可以，像泰坦尼克号那样的", catalog=movies)
    assert refs(u)["ml-4"][0] == "liked"


# ---------------------------------------------------------------- several titles


def test_a_list_of_titles_links_each(movies):
    u = understand("I loved Titanic, Scream and Heat", catalog=movies)
    assert [r.item_id for r in u.referenced_items] == ["ml-4", "ml-3", "ml-7"]
    assert {r.sentiment for r in u.referenced_items} == {"liked"}
    u = understand("我喜欢泰坦尼克号和狮子王", catalog=movies)
    assert [r.item_id for r in u.referenced_items] == ["ml-4", "ml-9"]


def test_unknown_titles_in_a_list_are_reported_one_by_one(movies):
    u = understand("I loved The Matrix and Inception", catalog=movies)
    assert [r.item_id for r in u.referenced_items] == ["ml-2"] and u.unknown_titles == ["Inception"]
    u = understand("I loved Inception and The Prestige", catalog=movies)
    assert u.unknown_titles == ["Inception", "The Prestige"] and not u.referenced_items
    u = understand("I loved Titanic and Inception", catalog=movies)
    assert [r.item_id for r in u.referenced_items] == ["ml-4"] and u.unknown_titles == ["Inception"]


def test_a_title_with_and_in_it_stays_one(movies):
    assert understand("I loved Pride and Prejudice", catalog=movies).unknown_titles == ["Pride and Prejudice"]
    u = understand("I loved The Good, the Bad and the Ugly", catalog=movies)
    assert [r.item_id for r in u.referenced_items] == ["ml-12"]


# ---------------------------------------------------------------- compound genres


@pytest.mark.parametrize("text, values", [
    ("a romantic comedy", ["Romance", "Comedy"]), ("a crime drama", ["Crime", "Drama"]),
    ("sci-fi horror", ["Sci-Fi", "Horror"]), ("我想看爱情喜剧", ["Romance", "Comedy"]),
    ("科幻恐怖片", ["Sci-Fi", "Horror"]), ("a film that is both funny and romantic", ["Comedy", "Romance"])])
def test_compound_genres_mean_all_of_them(movies, text, values):
    u = understand(text, catalog=movies)
    assert u.include == {"genres": values} and u.all_of == ["genres"], text


@pytest.mark.parametrize("text", ["a comedy or a romance", "comedy/romance", "喜剧或者爱情片"])
def test_genres_joined_by_or_mean_either(movies, text):
    u = understand(text, catalog=movies)
    assert set(u.include["genres"]) == {"Comedy", "Romance"} and u.all_of == [], text


def test_state_keeps_all_of_until_the_attribute_is_asked_again(movies):
    state = ConversationState()
    state.apply(understand("a romantic comedy", catalog=movies))
    assert state.constraints().all_of == ["genres"]
    state.apply(understand("actually a horror film", catalog=movies))
    assert state.include == {"genres": ["Horror"]} and state.constraints().all_of == []


# ---------------------------------------------------------------- loosening


def offered(movies) -> ConversationState:
    state = ConversationState()
    state.apply(understand("a western musical from the 90s", catalog=movies))
    state.offer_relax({"include": {"genres": ["Western", "Musical"]}})
    return state


@pytest.mark.parametrize("text", ["yes", "yes, drop it", "sure", "ok go ahead", "好的", "行", "可以，去掉吧"])
def test_accepting_the_offer_loosens_the_filter(movies, text):
    state = offered(movies)
    u = understand(text, state=state, catalog=movies)
    assert u.intent == "recommend" and u.loosen, text
    state.apply(u)
    assert state.include == {} and state.ranges == {"year": [1990, 1999]} and state.all_of == []
    assert state.changed["loosened"]["include"] == {"genres": ["Western", "Musical"]}
    assert state.offered_relax == {}


@pytest.mark.parametrize("text", ["no, keep it", "不用了", "别去掉"])
def test_declining_the_offer_keeps_the_filter(movies, text):
    state = offered(movies)
    u = understand(text, state=state, catalog=movies)
    assert not u.loosen, text
    state.apply(u)
    assert state.include == {"genres": ["Western", "Musical"]}


@pytest.mark.parametrize("text", ["有好看的喜剧吗", "不好", "yesterday's films?", "what about comedies?"])
def test_other_answers_to_the_offer_loosen_nothing(movies, text):
    assert not understand(text, state=offered(movies), catalog=movies).loosen, text


def test_yes_without_an_offer_loosens_nothing(movies):
    state = ConversationState()
    state.apply(understand("a western musical", catalog=movies))
    u = understand("yes", state=state, catalog=movies)
    assert not u.loosen
    state.apply(u)
    assert state.include == {"genres": ["Western", "Musical"]}


def test_the_offer_lapses_after_one_turn_and_survives_serialisation(movies):
    state = ConversationState.from_dict(offered(movies).to_dict())
    assert state.offered_relax == {"include": {"genres": ["Western", "Musical"]}}
    state.apply(understand("what about comedies?", state=state, catalog=movies))
    assert not understand("yes", state=state, catalog=movies).loosen


def test_a_new_refusal_with_yes_loosens_and_refuses(movies):
    state = offered(movies)
    u = understand("sure, and no horror", state=state, catalog=movies)
    assert u.loosen
    state.apply(u)
    assert state.include == {} and state.exclude == {"genres": ["Horror"]}


# ---------------------------------------------------------------- text keeps its limits


@pytest.mark.parametrize("raw, kept", [("rating <4, year >2000", "rating <4, year >2000"),
                                       ("价格<200元的裙子,评分>4", "价格<200元的裙子,评分>4"),
                                       ("I <3 comedies", "I <3 comedies"),
                                       ("<b>Heat</b> and <i>Fargo</i><script>alert(1)</script>", "Heat and Fargo")])
def test_clean_keeps_comparison_signs_and_drops_markup(raw, kept):
    assert clean(raw) == kept


def test_limits_written_with_signs_are_read(movies, shop):
    assert understand("films with year >2000", catalog=movies).ranges == {"year": [2001, None]}
    assert understand("comedies, year <= 1995", catalog=movies).ranges == {"year": [None, 1995]}
    assert understand("价格<200元的裙子", catalog=shop).ranges == {"price": [None, 200.0]}
    rated = understand("rating <4 please", catalog=movies)
    assert rated.ranges == {} and rated.keywords == []  # no rating attribute to filter on, and no word to look for


@pytest.mark.parametrize(("text", "domain", "excluded"), [("不要太暴力的电影", "movie", {"genres": ["Horror", "War"]}),
                                                          ("别太吓人的电影", "movie", {"genres": ["Horror"]})])
def test_a_chinese_refusal_describes_the_noun_after_de_and_keeps_it(text, domain, excluded):
    from recommender.sample_data import load_catalog

    u = understand(text, catalog=CatalogIndex(load_catalog()))
    assert u.domain == domain and u.exclude == excluded
