"""The assistant's short sentences in English and Chinese, built from facts only (no model text)."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .explain.lexicon import attribute_name, zh_forms  # the names explanations use, in both languages
from .explain.template import value_text
from .rules import display_title, natural_title
from .types import ItemRecord

DOMAIN_WORDS = {
    "en": {"movie": "films", "book": "books", "music": "albums", "game": "games", "product": "products"},
    "zh": {"movie": "部电影", "book": "本书", "music": "张专辑", "game": "款游戏", "product": "件商品"},
}


def _fmt_value(value: Any, language: str = "en", attribute: str | None = None) -> str:
    """Return a value as shown in a reply: years as written, other numbers grouped, Chinese names in zh."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value_text(value, language, "year" if attribute == "year" else None)
    if language == "zh" and isinstance(value, str):
        names = zh_forms(value)
        if names:
            return names[0]
    return str(value)


def named_titles(refs: list[dict], sentiment: str, records: Mapping[str, ItemRecord], language: str) -> list[str]:
    """Return the display titles of the referenced items with that sentiment (the catalog's record when known)."""
    out = []
    for ref in refs:
        if ref.get("sentiment") != sentiment:
            continue
        record = records.get(str(ref.get("item_id"))) if ref.get("item_id") is not None else None
        title = display_title(record, language) if record is not None else natural_title(
            str(ref.get("title") or ""), with_year=language != "zh")
        if title and title not in out:
            out.append(title)
    return out


def request_summary(constraints: dict[str, Any], language: str, like: Sequence[str] = ()) -> str:
    """Return a short phrase naming what the person asked for, e.g. "Comedy, year 1990–1999"; `like` names the
    examples the request gave without saying it liked them: makers ("like Radiohead") or display titles ("like
    The Matrix (1999)")."""
    parts: list[str] = [("like " + _and(list(like))) if language == "en" else "类似" + "、".join(like)] if like else []
    all_of = set(constraints.get("all_of") or ())  # "romantic comedy" asks for both, not either
    for attr, values in (constraints.get("include") or {}).items():
        parts.append((" + " if attr in all_of else "/").join(_fmt_value(v, language) for v in values))
    for attr, (low, high) in (constraints.get("ranges") or {}).items():
        name = attribute_name(attr, language)
        name = f"{name} " if name else ""
        if low is not None and high is not None:
            parts.append(f"{name}{_fmt_value(low, language, attr)}–{_fmt_value(high, language, attr)}")
        elif high is not None:
            parts.append(f"{name}≤ {_fmt_value(high, language, attr)}")
        elif low is not None:
            parts.append(f"{name}≥ {_fmt_value(low, language, attr)}")
    for values in (constraints.get("exclude") or {}).values():
        names = "/".join(_fmt_value(v, language) for v in values)
        parts.append(f"no {names}" if language == "en" else f"不要{names}")
    return ", ".join(parts) if language == "en" else "，".join(parts)


def asked_attributes(include: Mapping[str, list], prefer: Mapping[str, list]) -> dict[str, list]:
    """Return {attribute: values} a request was about, its filters first, then its softer wishes (for cards)."""
    out: dict[str, list] = {}
    for source in (include, prefer):
        for attribute, values in source.items():
            known = out.setdefault(attribute, [])
            known += [v for v in values if v not in known]
    return out


def recommend_reply(n: int, summary: str, domain: str | None, language: str) -> str:
    """Return the sentence that introduces a list of n items."""
    if n == 0:
        if language == "zh":
            return f"没有找到符合“{summary}”的结果。可以放宽一些条件再试试。" if summary else "暂时没有找到合适的推荐，换个说法试试？"
        return (f"I couldn't find anything matching {summary}. Try loosening a condition." if summary
                else "I couldn't find a good match yet. Could you say a bit more about what you like?")
    if language == "zh":
        unit = DOMAIN_WORDS["zh"].get(domain or "", "个推荐")
        return f"为你挑了{n}{unit}（{summary}）：" if summary else f"为你挑了{n}{unit}："
    noun = DOMAIN_WORDS["en"].get(domain or "", "picks")
    if n == 1:
        return f"Here is 1 {noun[:-1]} for you ({summary}):" if summary else f"Here is 1 {noun[:-1]} you might enjoy:"
    return f"Here are {n} {noun} for you ({summary}):" if summary else f"Here are {n} {noun} you might enjoy:"


def relax_reply(summary: str, loosen: str, count: int, language: str) -> str:
    """Return the reply when nothing matches every condition: which one to loosen, and what that would allow."""
    if language == "zh":
        return f"没有同时符合“{summary}”的结果。去掉“{loosen}”这个条件的话，有{count}个可选，要试试吗？"
    return (f"Nothing matches all of {summary}. Without “{loosen}” there would be {count} to choose from — "
            "shall I drop it?")


def loosened_note(dropped: str, language: str) -> str:
    """Return the sentence that says which filter was dropped at the person's word (empty when none)."""
    if not dropped:
        return ""
    return f"好的，去掉了“{dropped}”。" if language == "zh" else f"OK, without “{dropped}”. "


def unpriced_note(language: str) -> str:
    """Return the sentence that says a lower price was asked for where the items have no prices."""
    if language == "zh":
        return "这些没有标价，没法按价格挑更便宜的；"
    return "These have no prices here, so I can't look for cheaper ones. "


def unknown_titles_note(titles: list[str], language: str) -> str:
    """Return the sentence that says which named titles the catalog does not hold (empty when none)."""
    if not titles:
        return ""
    if language == "zh":
        return f"目录里没有找到{'、'.join(f'《{t}》' for t in titles)}，下面按你的其他要求推荐。"
    names = " or ".join(f"“{t}”" for t in titles)
    return f"I couldn't find {names} in the catalog, so these follow the rest of your request. "


def different_selection_note(language: str, *, found: bool = True) -> str:
    """Return the sentence that opens a regenerated answer: a different list, exploring further than the first;
    or, when nothing else matches (`found` false), that the same picks are shown again."""
    if language == "zh":
        return "换一批：这次多探索一些，和上一份列表不同。" if found else "没有其他符合要求的了，还是这几个。"
    if found:
        return "Here is a different selection, exploring a little further than the last one. "
    return "Nothing else matches this request, so here are the same picks again. "


def unknown_title_question(titles: list[str], language: str) -> str:
    """Return the question asked when the only thing named is a title the catalog does not hold."""
    if language == "zh":
        return (f"目录里没有找到{'、'.join(f'《{t}》' for t in titles)}。你想找的是电影、书、音乐、游戏还是商品？"
                "换个说法或说说喜欢它哪一点，我再推荐。")
    names = " or ".join(f"“{t}”" for t in titles)
    return (f"I couldn't find {names} in the catalog. Is it a film, a book, music, a game or something to buy? "
            "Tell me another title, or what you like about it, and I'll suggest some.")


def feedback_reply(liked: list[str], disliked: list[str], language: str) -> str:
    """Return the acknowledgement of feedback given in words; liked and disliked are display titles
    (`named_titles`)."""
    if language == "zh":
        parts = []
        if liked:
            parts.append("记下了，你喜欢" + "、".join(f"《{t}》" for t in liked))
        if disliked:
            parts.append("记下了，你不喜欢" + "、".join(f"《{t}》" for t in disliked))
        return "；".join(parts) + "。根据这些，再看看这些："
    parts = []
    if liked:
        parts.append("Noted that you liked " + _and(liked))
        if disliked:
            parts.append("and that you didn't like " + _and(disliked))
    elif disliked:
        parts.append("Noted that you didn't like " + _and(disliked))
    return " ".join(parts) + ". With that in mind, how about these:"


def _and(names: list[str]) -> str:
    """Return "A, B and C" (titles may hold commas themselves, so the last one is joined by "and")."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def chitchat_reply(text: str, language: str) -> str:
    """Return a brief friendly reply that steers back to recommendations."""
    low = text.casefold()
    thanks = "thank" in low or "谢谢" in text
    if language == "zh":
        return ("不客气！" if thanks else "你好！") + "想找点什么？比如“推荐几部九十年代的喜剧”或“夏天穿的连衣裙，100元以下”。"
    return ("You're welcome! " if thanks else "Hi! ") + (
        "What are you in the mood for? Try “comedies from the 90s” or “a summer dress under $50”."
    )


def ask_info_reply(record: ItemRecord | None, field: str | None, language: str) -> str:
    """Return the catalog's answer to a factual question about one item."""
    if record is None:
        return ("我没认出你问的是哪一个，能说一下名字吗？" if language == "zh"
                else "I couldn't tell which item you mean — could you give me its title?")
    title = display_title(record, language)
    field = field or "description"
    value: Any
    if field == "description":
        value = _description(record.description, language)
    elif field in ("title", "name"):
        value = title
    else:
        value = record.attributes.get(field)
    zh = language == "zh"
    name = "简介" if zh and field == "description" else attribute_name(field, language)
    if value in (None, "", []):
        return (f"目录里没有《{title}》的{name or '这项'}信息。" if zh
                else f"The catalog doesn't list the {name} of {title}.")
    values = value if isinstance(value, list) else [value]
    shown = ("、" if zh else ", ").join(_fmt_value(v, language, field) for v in values)
    if zh:
        return f"《{title}》的{name}：{shown}。" if name else f"《{title}》：{shown}。"
    if field == "year":
        return f"{title} is from {shown}."
    if field == "description":
        return f"{title}: {shown}"
    return f"The {name} of {title}: {shown}."


def _description(text: str, language: str) -> str:
    """Return the sentences of a (possibly bilingual) description written in the language ("" when none)."""
    sentences = [s.strip() for s in re.findall(r"[^。！？.!?]+[。！？.!?]*", text) if s.strip()]
    zh = language == "zh"
    kept = [s for s in sentences if any("\u3400" <= ch <= "\u9fff" for ch in s) == zh]
    if zh:
        return "".join(kept).rstrip("。.")
    return " ".join(kept)


def not_listed_reply(language: str) -> str:
    """Return the reply to "why that one?" when no list has been shown yet or the item is unclear."""
    if language == "zh":
        return "我没确定你问的是哪一个，可以说“为什么推荐第二个”或直接说片名。"
    return "I'm not sure which one you mean — try “why the second one?” or name the title."


def generic_explanation(language: str) -> str:
    """Return a reason that claims nothing, for when the evidence cannot be put into words."""
    return "它和你的要求相符。" if language == "zh" else "It fits what you asked for."


def suggestions(domain: str | None, has_items: bool, language: str) -> list[str]:
    """Return a few likely refinements to offer as chips."""
    zh = language == "zh"
    if not has_items:
        return ["推荐几部喜剧", "九十年代的科幻片", "夏天的连衣裙"] if zh else [
            "Some comedies", "Sci-fi from the 90s", "A summer dress"]
    if domain == "product":
        return ["便宜一点的", "换个颜色", "为什么推荐第一个？"] if zh else [
            "Something cheaper", "A different color", "Why the first one?"]
    return ["更多类似第一个的", "不要恐怖片", "只要九十年代的", "为什么推荐第一个？"] if zh else [
        "More like the first one", "No horror", "Only from the 90s", "Why the first one?"]


# ---------------------------------------------------------------- social requests (engine/social.py)


def _zh_and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else "、".join(names[:-1]) + "和" + names[-1]


def social_reply(kind: str, n: int, names: list[str], language: str) -> str:
    """Return the opening of a social list: what connections like, or something for the person and `names` together.

    kind is one of rules.SOCIAL_KINDS but people_like_me (see people_reply); names are display names as shown."""
    zh = language == "zh"
    who = (_zh_and(names) if zh else _and(names)) if names else ""
    if not n:
        if zh:
            return f"我没找到你和{who}都会喜欢、你又还没看过的。" if who else "你的联系人喜欢的，你好像都已经看过了。"
        return (f"I found nothing new that you and {who} would both enjoy." if who
                else "Your connections' likes are all things you have already met.")
    if kind == "friends_like":
        return (f"你的联系人喜欢、你还没看过的{n}个：" if not who else f"{who}喜欢、你还没看过的{n}个：") if zh else (
            f"Here are {n} things {who or 'your connections'} liked that you have not tried yet:")
    if zh:
        return f"你和{who}应该都会喜欢这{n}个：" if who else f"你和你的联系人共同可能喜欢的{n}个："
    both = "both" if len(names) == 1 else "all"
    return (f"Here are {n} picks you and {who} should {both} enjoy:" if who
            else f"Here are {n} picks you and your connections have in common:")


def people_reply(people: list[tuple[str, list[str]]], language: str) -> str:
    """Return who has taste like the person's: [(display name, titles both liked)], best match first."""
    zh = language == "zh"
    if not people:
        return ("暂时没有口味和你相近、又愿意被找到的人。多评价几部作品会更准。" if zh
                else "I found nobody with taste close to yours among the people who chose to be found. "
                     "Rating a few more things helps.")
    lines = []
    for name, titles in people:
        shown = titles[:3]
        if zh:
            lines.append(f"{name}（你们都喜欢" + "、".join(f"《{t}》" for t in shown) + "）" if shown else name)
        else:
            lines.append(f"{name} (you both liked {_and(shown)})" if shown else name)
    if zh:
        return "口味和你相近的人：" + "；".join(lines) + "。"
    return "People with taste like yours: " + "; ".join(lines) + "."


def social_notes(private: list[str], unknown: list[str], language: str) -> str:
    """Return what the reply says before a social list: names the person gave that are not connections, and
    connections that keep their likes to themselves (so nothing of theirs was used)."""
    zh = language == "zh"
    out = []
    if unknown:
        out.append(f"{_zh_and(unknown)}不在你的联系人里。" if zh else f"{_and(unknown)} is not among your connections. ")
    if private:
        out.append(f"{_zh_and(private)}没有公开自己的喜好，所以没有用到。" if zh
                   else f"{_and(private)} keeps their likes private, so they were not used. ")
    return "".join(out)


def no_connections_reply(signed_in: bool, language: str) -> str:
    """Return the answer to a social request from someone with no connections (or not signed in)."""
    if language == "zh":
        return "你还没有添加联系人。可以在“我的联系人”页面添加朋友。" if signed_in else "登录后才能添加朋友、使用朋友的推荐。"
    return ("You have no connections yet: add friends on the Connections page." if signed_in
            else "Sign in to connect with friends and get recommendations from them.")


def social_suggestions(language: str) -> list[str]:
    """Return follow-up chips after a social answer."""
    return (["我朋友喜欢什么？", "谁的口味和我相似？", "我想找一些我和朋友的共同兴趣"] if language == "zh"
            else ["What do my friends like?", "Who has taste like mine?", "Something my friends and I would all enjoy"])
