"""Words the explanation layer writes and recognises, in English and Simplified Chinese."""
from __future__ import annotations

from ..rules import EN_CARDINALS, EN_ORDINALS, ZH_NUMERALS  # noqa: F401 - list positions are one rule

LANGUAGES = ("en", "zh")

# Chinese names of common genre values (keys are lower-cased catalog values).
ZH_GENRES: dict[str, tuple[str, ...]] = {
    "action": ("动作",),
    "adventure": ("冒险",),
    "animation": ("动画",),
    "children's": ("儿童",),
    "children": ("儿童",),
    "comedy": ("喜剧",),
    "crime": ("犯罪",),
    "documentary": ("纪录片", "纪录"),
    "drama": ("剧情",),
    "fantasy": ("奇幻",),
    "film-noir": ("黑色电影",),
    "horror": ("恐怖",),
    "musical": ("歌舞",),
    "mystery": ("悬疑",),
    "romance": ("爱情",),
    "sci-fi": ("科幻",),
    "thriller": ("惊悚",),
    "war": ("战争",),
    "western": ("西部",),
    "imax": ("IMAX",),
}

# Other English words that claim a genre value (keys are lower-cased catalog values).
EN_GENRE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "romance": ("romantic",),
    "animation": ("animated", "cartoon", "cartoons"),
    "comedy": ("comedic",),
    "sci-fi": ("science fiction", "science-fiction", "sci fi", "scifi"),
    "film-noir": ("noir", "film noir"),
    "children's": ("children", "kids"),
    "documentary": ("documentaries",),
    "thriller": ("thrilling",),
    "musical": ("musicals",),
    "horror": ("scary",),
}

# Words the templates themselves use; never read as one-word titles.
STOCK_WORDS = (
    "because", "it", "its", "popular", "similar", "close", "something", "new", "picked", "you", "your",
    "matches", "request", "viewers", "like", "liked", "explore", "taste", "fits", "also", "and", "recommended",
    "top", "pick", "this", "that", "one", "which", "why", "the", "last", "first", "second", "third",
    "many", "people", "enjoyed", "here", "since", "so", "try",
)

POPULARITY_WORDS_EN = ("popular", "popularity", "blockbuster", "crowd-pleaser", "crowd pleaser", "many viewers",
                       "everyone", "widely", "best-selling", "bestseller", "hit")
POPULARITY_WORDS_ZH = ("热门", "很多观众", "很多读者", "很多听众", "很多玩家", "很多人", "大家都", "受欢迎", "爆款")
SIMILARITY_WORDS_EN = ("similar", "a lot like", "much like", "just like", "reminiscent", "reminds", "resembles",
                       "in the vein of", "in the spirit of", "same as", "akin to")
SIMILARITY_WORDS_ZH = ("很像", "相似", "类似", "差不多", "一样的")
EXPLORATION_WORDS_EN = ("new", "explore", "exploring", "exploration", "different", "try", "outside", "discover")
EXPLORATION_WORDS_ZH = ("新", "尝试", "探索", "不一样", "换换口味", "发现")

# Phrases that tell the reader to do something or that address the model: never part of an explanation.
INSTRUCTION_PATTERNS_EN = (
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|previous|above|rules?|prompt)\b",
    r"\b(click|visit|subscribe|sign\s*up|log\s*in|download|buy now|password|e-?mail)\b",
    r"\b(system|assistant|user|human|ai)\s*:",
    r"\b(prompt|instructions?|as an ai|language model)\b",
    r"\bfacts?\s*:",
    r"\bsentence\s*:",
)
INSTRUCTION_PATTERNS_ZH = (r"点击", r"访问", r"忽略", r"下载", r"登录", r"注册", r"指令", r"提示词", r"密码", r"事实[:：]", r"句子[:：]")

# Words that show a text cites request-similarity evidence ("its description is close to what you asked for").
REQUEST_WORDS_EN = ("asked for", "described", "description", "your request", "you asked", "what you want")
REQUEST_WORDS_ZH = ("描述", "简介", "要求", "你想要", "你想找")
# What attributes are called where people read them; an attribute missing here is shown by its values alone in
# Chinese, and by its name with spaces in English.
ATTRIBUTE_NAMES = {
    "en": {"genres": "genre", "category": "category", "color": "colour", "price": "price", "year": "year",
           "season": "season", "material": "material", "gender": "for", "rating": "rating", "brand": "brand"},
    "zh": {"genres": "类型", "category": "类别", "color": "颜色", "price": "价格", "year": "年份", "season": "季节",
           "material": "材质", "gender": "适合", "rating": "评分", "brand": "品牌"},
}


def attribute_name(attribute: str, language: str) -> str:
    """Return an attribute's name in the language ("genres" -> "genre" / "类型"); "" in Chinese when unknown."""
    if language == "zh":
        return ATTRIBUTE_NAMES["zh"].get(attribute, "")
    return ATTRIBUTE_NAMES["en"].get(attribute, attribute.replace("_", " "))



def _shared_synonyms() -> dict[str, dict[str, list[str]]]:
    try:  # the understanding layer's bilingual vocabulary, when present
        from ..understanding.lexicon import ATTRIBUTE_SYNONYMS
    except ImportError:  # pragma: no cover - depends on the installation
        return {}
    return ATTRIBUTE_SYNONYMS


def zh_forms(value: str) -> list[str]:
    """Return the Chinese words (two characters or more) that name an attribute value."""
    key = value.casefold()
    out = list(ZH_GENRES.get(key, ()))
    for values in _shared_synonyms().values():
        for canonical, forms in values.items():
            if canonical.casefold() == key:
                out += [f for f in forms if len(f) >= 2 and any("\u3400" <= ch <= "\u9fff" for ch in f)]
    return list(dict.fromkeys(out))
