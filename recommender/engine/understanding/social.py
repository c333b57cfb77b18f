"""Recognising requests about the person's connections, in English and Chinese.

`read_social(text)` returns None for an ordinary request, else a `SocialRequest`: what is asked for (one of
rules.SOCIAL_KINDS) and the names the person gave ("something Ana and I would both enjoy" -> ["Ana"]). The names
are only words here: the turn matches them against the person's connections (recommender/engine/social.py),
which the understanding never sees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import rules

# Words that stand for the person's connections as a whole, not for one of them.
GROUP_WORDS = frozenset(
    {
        "friends",
        "my friends",
        "friend",
        "my friend",
        "朋友",
        "朋友们",
        "好友",
        "好友们",
        "大家",
        "我的朋友",
        "我朋友",
        "他们",
        "她们",
    }
)

_PEOPLE_LIKE_ME = re.compile(
    r"\b(who|anyone|anybody|someone|somebody|people|users?|others?)\b[^.?!]{0,40}?"
    r"\b(tastes?|like\s+mine|like\s+me|similar\s+to\s+(me|mine)|likes?\s+what\s+i\s+like|same\s+(stuff|things|films|movies))\b"
    r"|\b(people|users?|someone|others?)\s+(like|similar\s+to)\s+me\b"
    r"|\b(similar|same|like-minded)\s+(taste|tastes)\b|\blike-minded\b|\bkindred\s+spirits?\b",
    re.I,
)
_PEOPLE_LIKE_ME_ZH = re.compile(
    r"(口味|品味|兴趣|爱好|喜好)(和|跟|与)我(很|比较|差不多)?(相似|相近|相同|一样|接近|像)"
    r"|(和|跟|与)我(口味|品味|兴趣|爱好|喜好)(相似|相近|相同|一样|接近|差不多)"
    r"|谁(的)?(口味|品味|兴趣|爱好).{0,4}(像|和|跟)我|志同道合|兴趣相投|臭味相投"
)
_COMMON = re.compile(
    r"\b(common|shared|mutual)\s+(interests?|tastes?|favou?rites?)\b|\bin\s+common\b"
    r"|\bmy\s+friends\s+and\s+(i|me)\b|\b(me|i)\s+and\s+my\s+friends\b",
    re.I,
)
_COMMON_ZH = re.compile(
    r"共同(的)?(兴趣|爱好|喜好|喜欢)|(我和|我跟|和我)(的)?(朋友|好友)(们)?(都|一起|共同)"
    r"|(朋友|好友)(们)?(和|跟)我(都|一起|共同)"
)
# What the connections like: "my friends" (plural: "my friend loves X but I can't stand it" is about one person's
# taste) with a word of liking, the people one follows or trusts; 朋友 not inside 男朋友 / 女朋友.
_FRIENDS = re.compile(
    r"\bmy\s+(friends|connections|contacts|buddies|mates|circle|network)\b[^.?!]{0,30}?"
    r"\b(like[sd]?|lov\w+|enjoy\w*|watch\w*|recommend\w*|rat\w+|favou?rites?|into|listen\w*|read\w*|plays?)\b"
    r"|\b(people|those|folks)\s+(i\s+)?(follow|trust)\b|\bfriends'\s",
    re.I,
)
_FRIENDS_ZH = re.compile(
    r"(?<![男女])(朋友|好友)(们)?[^，。,.!?！？]{0,6}?(喜欢|爱看|爱听|爱玩|推荐|在看|在听|在玩|看过|听过|玩过|的喜好|的最爱|收藏)"
    r"|关注的人|我关注的|我信任的|圈子里"
)
# "Ana and I", "Ana and me", "me and Ana", "with Ana", "for Ana and me": one or two capitalised words as a name.
_NAME = r"([A-Z][\w'-]{1,30}(?:\s+[A-Z][\w'-]{1,30})?)"
_TOGETHER = (
    re.compile(rf"\b{_NAME}\s+and\s+(?:I|me|myself)\b"),
    re.compile(rf"\b(?:I|me)\s+and\s+{_NAME}\b"),
    re.compile(rf"\b(?:with|for)\s+{_NAME}(?:\s+and\s+{_NAME})?\s+and\s+(?:I|me)\b"),
    re.compile(rf"\b(?:watch|play|read|listen|enjoy|share)\w*\s+(?:\w+\s+){{0,3}}?with\s+{_NAME}\b"),
)
_TOGETHER_ZH = (
    re.compile(r"我(?:和|跟|与)([^\s，。,.!?！？和跟与都一起的]{1,8}?)(?:都|一起|共同|俩|两个)"),
    re.compile(r"([^\s，。,.!?！？和跟与都一起的我]{1,8}?)(?:和|跟|与)我(?:都|一起|共同|俩|两个)"),
    re.compile(r"(?:和|跟|陪)([^\s，。,.!?！？和跟与都一起的我]{1,8}?)一起(?:看|玩|听|读)"),
)
# "watch it with Ana", "和Ana一起看": named people make a request; group words there name an activity's company.
_ACTIVITY_WITH = (_TOGETHER[3], _TOGETHER_ZH[2])
_NOT_NAMES = frozenset(
    {
        "I",
        "Me",
        "My",
        "The",
        "A",
        "An",
        "Something",
        "Anything",
        "What",
        "Which",
        "Who",
        "And",
        "Recommend",
        "Find",
        "Show",
        "Give",
        "Any",
        "Some",
        "Please",
        "Hi",
        "Hello",
    }
)
_NAME_SPLIT = re.compile(r"\s*(?:,|、|\band\b|和|跟|与)\s*")


@dataclass
class SocialRequest:
    """A request about the person's connections: the kind (rules.SOCIAL_KINDS) and the names given."""

    kind: str
    names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _names(found: list[str]) -> list[str]:
    out: list[str] = []
    for raw in found:
        for name in _NAME_SPLIT.split(raw or ""):
            name = name.strip()
            if name and name not in _NOT_NAMES and name.casefold() not in GROUP_WORDS and name not in out:
                out.append(name)
    return out


def _together_names(text: str) -> tuple[list[str], bool]:
    """Return (names asked for together with the person, whether the group words stood for everyone)."""
    found: list[str] = []
    everyone = False
    for pattern in (*_TOGETHER_ZH, *_TOGETHER):
        groups = [g for m in pattern.finditer(text) for g in m.groups() if g]
        found += groups
        # "games to play with friends" (和朋友一起玩) asks for a kind of item, not for the friends' shared taste.
        if pattern not in _ACTIVITY_WITH:
            everyone = everyone or any(g.strip().casefold() in GROUP_WORDS for g in groups)
    return _names(found), everyone


def read_social(text: str, titles: Sequence[str] = ()) -> SocialRequest | None:
    """Return what a social request asks for, or None when the text is not about the person's connections.

    The rule, first match wins: people with similar taste; a recommendation together with named people; the
    interests the person shares with their connections (also "my friends and I"); what the connections like.
    """
    if not text or not text.strip():
        return None
    if _PEOPLE_LIKE_ME.search(text) or _PEOPLE_LIKE_ME_ZH.search(text):
        if not _FRIENDS_ZH.search(text) or _PEOPLE_LIKE_ME_ZH.search(text):
            return SocialRequest(kind=rules.PEOPLE_LIKE_ME)
    names, everyone = _together_names(text)
    # "Me and Earl and the Dying Girl" names a film, not a friend: words inside a title the turn names are no names.
    names = [n for n in names if not any(n.casefold() in t.casefold() for t in titles)]
    if names:
        return SocialRequest(kind=rules.TOGETHER, names=names)
    if everyone or _COMMON.search(text) or _COMMON_ZH.search(text):
        return SocialRequest(kind=rules.COMMON)
    # A turn that names titles ("我朋友喜欢泰坦尼克号，但我受不了") tells whose taste they are, not a request.
    if (_FRIENDS.search(text) or _FRIENDS_ZH.search(text)) and not titles:
        return SocialRequest(kind=rules.FRIENDS_LIKE)
    return None


def apply_social(u: Any, text: str) -> None:
    """Mark an Understanding as a social request when the text is one (the parser's reading stays otherwise)."""
    request = read_social(text, [r.title for r in getattr(u, "referenced_items", None) or []])
    if request is not None:
        u.intent = rules.SOCIAL
        u.social = request.to_dict()
