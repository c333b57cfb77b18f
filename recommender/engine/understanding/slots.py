"""Numeric ranges (years, decades, prices) and list positions ("the second one", "第二个") found in a turn."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..rules import EN_CARDINALS as EN_NUMBERS
from ..rules import EN_ORDINALS as _ORDINALS
from ..rules import ZH_NUMERALS as ZH_DIGITS
from ..rules import zh_number

EN_ORDINALS = {**_ORDINALS, "last": -1, "final": -1}
DECADE_WORDS = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70,
                "eighties": 80, "nineties": 90}


@dataclass
class Span:
    start: int
    end: int

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class RangeHit:
    attr: str  # "year" or "price"
    low: float | None
    high: float | None
    span: Span


def _decade_start(two_digits: int) -> int:
    # "20s".."90s" are the twentieth century; "00s" and "10s" the twenty-first.
    return 2000 + two_digits if two_digits < 20 else 1900 + two_digits


# -- years -------------------------------------------------------------------------------------------
_EN_DECADE = re.compile(r"(?:\b(?:the\s+)?(?:(?P<full>1[89]\d0|20[0-2]0)'?s|'?(?P<short>[0-9]0)'?s)\b|\b(?P<word>" + "|".join(DECADE_WORDS) + r")\b)")
_ZH_DECADE = re.compile(r"(?:上世纪|上个世纪|二十世纪|20世纪)?(?:(?P<pair>[一二三四五六七八九])(?=[一二三四五六七八九]十年代))?(?P<num>[一二三四五六七八九]十|(?:19|20)?[0-9]0)年代")
_YEAR = r"(?P<y>1[89]\d\d|20[0-2]\d)"
_EN_BEFORE = re.compile(r"\b(?:before|pre|prior to|earlier than|older than|until|up to)[\s-]+(?:the\s+)?" + _YEAR + r"\b")
_EN_AFTER = re.compile(r"\b(?:after|post|later than|newer than)[\s-]+(?:the\s+)?" + _YEAR + r"\b")
_EN_SINCE = re.compile(r"\b(?:since|from)\s+" + _YEAR + r"\s*(?:on|onwards?|or later|and later|\+)|\bsince\s+" + _YEAR.replace("y>", "y2>") + r"\b|\b" + _YEAR.replace("y>", "y3>") + r"\s*(?:or later|and later|onwards?|or newer|\+)")
_EN_BETWEEN = re.compile(r"\b(?:between|from)\s+(?P<a>1[89]\d\d|20[0-2]\d)\s+(?:and|to|-)\s+(?P<b>1[89]\d\d|20[0-2]\d)\b|\b(?P<c>1[89]\d\d|20[0-2]\d)\s*(?:-|–|to)\s*(?P<d>1[89]\d\d|20[0-2]\d)\b")
_EN_IN = re.compile(r"\b(?:in|from|of|made in|released in)\s+" + _YEAR + r"\b")
_ZH_YEAR_CMP = re.compile(_YEAR + r"年?(?P<op>以前|之前|前|以后|之后|后|以来|起|至今)")
_ZH_YEAR_BETWEEN = re.compile(r"(?P<a>1[89]\d\d|20[0-2]\d)年?(?:到|至|-|~)(?P<b>1[89]\d\d|20[0-2]\d)年?")
_ZH_YEAR = re.compile(_YEAR + r"年(?:的|上映|出品|拍的)?")

# -- prices ------------------------------------------------------------------------------------------
_NUM = r"(?P<n>\d+(?:,\d{3})*(?:\.\d+)?)"
_CUR_BEFORE = r"(?:\$|¥|￥|usd\s?|rmb\s?)"
_CUR_AFTER = r"(?:\s?(?:dollars?|bucks|usd|rmb|yuan|元|块钱|块|刀|美元|美金))"
_MONEY = r"(?:" + _CUR_BEFORE + _NUM + "|" + _NUM.replace("n>", "m>") + _CUR_AFTER + ")"
_EN_MAX = re.compile(r"\b(?:under|below|less than|cheaper than|at most|max(?:imum)?|up to|no more than|not more than|within|budget(?: of| is)?|for less than|beneath)\s+" + _MONEY.replace("(?:\\$", "(?:\\$") )
_EN_MIN = re.compile(r"\b(?:over|above|more than|at least|minimum|min|starting at|from)\s+" + _MONEY)
_EN_PRICE_BETWEEN = re.compile(r"\bbetween\s+\$?(?P<a>\d+(?:\.\d+)?)\s*(?:dollars?|bucks)?\s*(?:and|to|-)\s*\$?(?P<b>\d+(?:\.\d+)?)|\$(?P<c>\d+(?:\.\d+)?)\s*(?:-|to)\s*\$?(?P<d>\d+(?:\.\d+)?)")
_ZH_PRICE_CMP = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?:元|块钱|块|刀|美元|美金|rmb|dollars?|bucks)?\s*(?P<op>以下|以内|之内|内|以上|起|左右)")
_ZH_PRICE_MAX_PRE = re.compile(r"(?:不超过|不到|低于|少于|小于|便宜于|最多)\s*(?P<n>\d+(?:\.\d+)?)\s*(?:元|块钱|块|刀|美元)?")
_ZH_PRICE_MIN_PRE = re.compile(r"(?:超过|高于|多于|大于|至少)\s*(?P<n>\d+(?:\.\d+)?)\s*(?:元|块钱|块|刀|美元)?")
_ZH_PRICE_BETWEEN = re.compile(r"(?P<a>\d+(?:\.\d+)?)\s*(?:元|块)?\s*(?:到|至|-|~)\s*(?P<b>\d+(?:\.\d+)?)\s*(?:元|块钱|块)(?:之间)?")


def _num(text: str) -> float:
    value = float(text.replace(",", ""))
    return int(value) if value.is_integer() else value


def _group(m: re.Match, *names: str) -> str | None:
    for name in names:
        value = m.groupdict().get(name)
        if value:
            return value
    return None


# Limits written with comparison signs: "year >2000", "价格<200元", "price <= $50".
_COMPARED = re.compile(r"(?P<attr>year|released|年份|上映|price|cost|价格|价钱|售价|rating|score|评分)?\s*"
                       r"(?P<op><=|>=|<|>|≤|≥)\s*(?P<cur>\$)?(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>元|块|dollars?|bucks)?")
_YEAR_WORDS = ("year", "released", "年份", "上映")
_PRICE_WORDS = ("price", "cost", "价格", "价钱", "售价")


def _add_compared(text: str, *, price: bool, year: bool, add) -> None:
    """Add the ranges written with <, >, <=, >= (a year when named or shaped like one, else a price)."""
    for m in _COMPARED.finditer(text):
        n, op, named = float(m["n"]), m["op"], m["attr"]
        if named and named not in _YEAR_WORDS + _PRICE_WORDS:
            continue  # "rating <4": the catalog has no such attribute to filter on
        is_year = named in _YEAR_WORDS or (not named and not m["cur"] and not m["unit"] and 1800 <= n <= 2030)
        if (is_year and not year) or (not is_year and not (price and (named or m["cur"] or m["unit"]))):
            continue
        above = op in (">", ">=", "≥")
        if is_year:  # whole years: "after 2000" starts at 2001
            bound = int(n) + (1 if op == ">" else -1 if op == "<" else 0)
            add("year", bound if above else None, None if above else bound, m)
        else:
            add("price", n if above else None, None if above else n, m)


# "a jacket under 100": a bound with neither currency nor unit. It is a price only where the kind of item asked for
# has prices, which the parser decides once the domain is known; "under 100 minutes", "kids under 12" are none.
_EN_BARE_BOUND = re.compile(
    r"\b(?P<op>under|below|less than|at most|up to|no more than|not more than|for less than|within|over|above|"
    r"more than|at least)\s+" + _NUM + r"(?!\d|[.,]\d|\s*(?:%|percent|minutes?|mins?|hours?|hrs?|h\b|pages?|years?|"
    r"yrs?|y/?o\b|months?|days?|weeks?|episodes?|seasons?|players?|people|persons?|kids|songs?|tracks?|km|kg|g\b|"
    r"lbs?|pounds?|cm|mm|m\b|inch(?:es)?|in\b|ml|l\b|gb|mb|tb|hz|w\b|watts?|mph|calories|stars?|items?|books?|"
    r"films?|movies?|games?|albums?))")
_AGE_BEFORE = re.compile(r"(?:kids?|children|child|ages?|aged|teens?|boys?|girls?|bab(?:y|ies)|toddlers?|players?)"
                         r"\s*$")
_BARE_CEILINGS = {"under", "below", "less than", "at most", "up to", "no more than", "not more than",
                  "for less than", "within"}


def find_bare_bounds(text: str) -> list[RangeHit]:
    """Return the (lower-cased) text's bounds with neither currency nor unit ("under 100"), as price hits."""
    hits = []
    for m in _EN_BARE_BOUND.finditer(text):
        n = _num(m["n"])
        if _AGE_BEFORE.search(text[max(0, m.start() - 12):m.start()]) or (1800 <= n <= 2030 and n == int(n)):
            continue  # an age, or a year ("before 1990" is read as one elsewhere)
        low, high = (None, n) if m["op"] in _BARE_CEILINGS else (n, None)
        hits.append(RangeHit("price", low, high, Span(m.start(), m.end())))
    return hits


def find_ranges(text: str, *, price: bool = True, year: bool = True) -> list[RangeHit]:
    """Return ranges the (lower-cased) text states; spans never overlap, earlier and longer patterns win."""
    hits: list[RangeHit] = []
    taken: list[Span] = []

    def add(attr, low, high, m):
        span = Span(m.start(), m.end())
        if any(span.overlaps(t) for t in taken):
            return
        taken.append(span)
        hits.append(RangeHit(attr, low, high, span))

    _add_compared(text, price=price, year=year, add=add)
    if price:
        for m in _EN_PRICE_BETWEEN.finditer(text):
            a, b = _group(m, "a", "c"), _group(m, "b", "d")
            add("price", _num(a), _num(b), m)
        for m in _ZH_PRICE_BETWEEN.finditer(text):
            add("price", _num(m["a"]), _num(m["b"]), m)
        for m in _EN_MAX.finditer(text):
            add("price", None, _num(_group(m, "n", "m")), m)
        for m in _EN_MIN.finditer(text):
            add("price", _num(_group(m, "n", "m")), None, m)
        for m in _ZH_PRICE_MAX_PRE.finditer(text):
            add("price", None, _num(m["n"]), m)
        for m in _ZH_PRICE_MIN_PRE.finditer(text):
            add("price", _num(m["n"]), None, m)
        for m in _ZH_PRICE_CMP.finditer(text):
            n, op = _num(m["n"]), m["op"]
            if 1800 <= n <= 2030 and year and "年" in text[m.start(): m.end() + 1]:
                continue
            if op in ("以下", "以内", "之内", "内"):
                add("price", None, n, m)
            elif op == "左右":
                add("price", round(n * 0.8, 2), round(n * 1.2, 2), m)
            else:
                add("price", n, None, m)
    if year:
        for m in _EN_BETWEEN.finditer(text):
            add("year", int(_group(m, "a", "c")), int(_group(m, "b", "d")), m)
        for m in _ZH_YEAR_BETWEEN.finditer(text):
            add("year", int(m["a"]), int(m["b"]), m)
        for m in _EN_BEFORE.finditer(text):
            add("year", None, int(m["y"]) - 1, m)
        for m in _EN_AFTER.finditer(text):
            add("year", int(m["y"]) + 1, None, m)
        for m in _EN_SINCE.finditer(text):
            add("year", int(_group(m, "y", "y2", "y3")), None, m)
        for m in _ZH_YEAR_CMP.finditer(text):
            y, op = int(m["y"]), m["op"]
            if op in ("以前", "之前", "前"):
                add("year", None, y - 1, m)
            elif op in ("以后", "之后", "后"):
                add("year", y + 1, None, m)
            else:
                add("year", y, None, m)
        decades = []
        for m in _EN_DECADE.finditer(text):
            if m["full"]:
                start = int(m["full"])
            elif m["short"] is not None:
                start = _decade_start(int(m["short"]))
            else:
                start = 1900 + DECADE_WORDS[m["word"]]
            decades.append((start, m))
        for m in _ZH_DECADE.finditer(text):
            num = m["num"]
            value = zh_number(num) if not num.isdigit() else int(num)
            if value is None:
                continue
            start = value if value >= 1900 else (_decade_start(value) if value < 100 else value)
            decades.append((start, m))
            if m["pair"]:  # "七八十年代": the seventies and the eighties
                decades.append((_decade_start(ZH_DIGITS[m["pair"]] * 10), m))
        decades = [(s, m) for s, m in decades if not any(not (m.end() <= t.start or m.start() >= t.end) for t in taken)]
        if decades:
            _add_decades(text, decades, add)
        for m in list(_EN_IN.finditer(text)) + list(_ZH_YEAR.finditer(text)):
            add("year", int(m["y"]), int(m["y"]), m)
    return hits


def _add_decades(text, decades, add) -> None:
    """Merge decades into one span of years; "before the 80s" / "90年代以后" open one side."""
    decades.sort(key=lambda d: (d[1].start(), d[0]))
    first_start, first = decades[0]
    last_start, last = decades[-1]
    before = text[max(0, first.start() - 12): first.start()]
    after = text[last.end(): last.end() + 4]
    low, high = first_start, last_start + 9
    if re.search(r"(before|pre|prior to|older than|earlier than)\s*(the)?\s*$", before) or after.startswith(("以前", "之前")):
        low, high = None, first_start - 1
    elif re.search(r"(after|post|newer than|later than)\s*(the)?\s*$", before):
        low, high = last_start + 10, None
    elif after.startswith(("以后", "之后", "以来", "起")):
        # "九十年代以后" reads as "from the nineties on", like "80后".
        low, high = first_start, None
    elif re.search(r"(since|from)\s*(the)?\s*$", before) and re.search(r"^\s*(on|onwards?)", text[last.end():]):
        high = None

    class _Joined:  # one match object covering every decade mentioned
        def __init__(self, s, e):
            self._s, self._e = s, e

        def start(self):
            return self._s

        def end(self):
            return self._e

    add("year", low, high, _Joined(first.start(), last.end()))


# -- list positions ----------------------------------------------------------------------------------
_EN_POS = re.compile(
    r"\b(?:(?P<det>the|that|this)\s+)?(?P<ord>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|1st|2nd|3rd|4th|5th|6th|7th|8th|9th|10th|last|final)"
    r"(?:\s+(?P<noun>one|ones|movie|film|flick|item|option|pick|suggestion|recommendation|book|song|album|game|product|dress|pair|jacket|thing))?\b"
)
_EN_NUMBER_POS = re.compile(r"(?:#\s?|\bnumber\s+|\bno\.\s?|\boption\s+|\bitem\s+)(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\b")
_ZH_POS = re.compile(r"第\s*(?P<n>[一二两三四五六七八九十]{1,3}|\d{1,2})\s*(?P<cls>个|部|款|件|本|首|条|项|名|双|位|种|张)?")
_ZH_LAST = re.compile(r"最后(?:一|那)?(?:个|部|款|件|本|首|条|项)")


@dataclass
class PositionHit:
    index: int  # 1-based; -1 for the last
    span: Span


def find_positions(text: str) -> list[PositionHit]:
    """Return references to positions in the last shown list ("the second one", "#3", "第二个", "最后一个")."""
    hits = []
    for m in _EN_POS.finditer(text):
        # "the first time" is not a reference; require a determiner or a noun after the ordinal.
        if not (m["det"] or m["noun"]):
            continue
        after = text[m.end(): m.end() + 6]
        if not m["noun"] and re.match(r"\s*(time|place|thing|of all|day|week|year|half)", after):
            continue
        hits.append(PositionHit(EN_ORDINALS[m["ord"]], Span(m.start(), m.end())))
    for m in _EN_NUMBER_POS.finditer(text):
        n = m["n"]
        hits.append(PositionHit(int(n) if n.isdigit() else EN_NUMBERS[n], Span(m.start(), m.end())))
    for m in _ZH_POS.finditer(text):
        after = text[m.end(): m.end() + 1]
        if not m["cls"] and after in ("次", "天", "年", "季", "集", "章", "名", "一"):
            continue
        n = zh_number(m["n"])
        if n:
            hits.append(PositionHit(n, Span(m.start(), m.end())))
    for m in _ZH_LAST.finditer(text):
        hits.append(PositionHit(-1, Span(m.start(), m.end())))
    hits.sort(key=lambda h: h.span.start)
    return hits


# -- numbers written as words ------------------------------------------------------------------------
_EN_UNITS = {**EN_NUMBERS, "zero": 0, "a": 1, "an": 1, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
             "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}
_EN_SCALES = {"hundred": 100, "thousand": 1000, "grand": 1000}
_EN_NUMBER_WORD = "|".join(sorted([*_EN_UNITS, *_EN_TENS, *_EN_SCALES, "and"], key=len, reverse=True))
_MONEY_UNIT = r"(?:dollars?|bucks|usd|euros?|pounds?|quid|yuan|rmb)"
# A run of number words followed by a currency ("under fifty dollars", "a hundred and twenty bucks").
_EN_WORD_AMOUNT = re.compile(
    r"\b(?P<num>(?:" + _EN_NUMBER_WORD + r")(?:[\s-]+(?:" + _EN_NUMBER_WORD + r"))*)(?=\s+" + _MONEY_UNIT + r"\b)",
    re.IGNORECASE)
_ZH_NUMERAL = "零一二两三四五六七八九十百千万"
# Chinese numerals before a currency or a bound ("五十块以下", "两百元以内", "不超过三百").
_ZH_WORD_AMOUNT = re.compile(
    r"(?P<pre>不超过|不到|低于|少于|小于|最多|超过|高于|多于|大于|至少)?(?P<num>[" + _ZH_NUMERAL + r"]+)"
    r"(?P<post>\s*(?:块钱|块|元|刀|美元|美金)|(?=以下|以内|之内|以上|左右)|(?=\s*(?:到|至|~|-)\s*[0-9" + _ZH_NUMERAL + r"]+\s*(?:块|元|刀|美元)))")


def _en_words_value(words: list[str]) -> int | None:
    """Return the value of English number words ("one hundred and fifty" -> 150), or None."""
    total, current, seen = 0, 0, False
    for word in words:
        if word == "and":
            continue
        if word in _EN_UNITS:
            current += _EN_UNITS[word]
        elif word in _EN_TENS:
            current += _EN_TENS[word]
        elif word in _EN_SCALES:
            scale = _EN_SCALES[word]
            current = (current or 1) * scale
            if scale >= 1000:
                total, current = total + current, 0
        else:
            return None
        seen = True
    return total + current if seen else None


def numbers_to_digits(text: str) -> str:
    """Return the text with amounts written as words turned into digits ("under fifty dollars" -> "under 50 dollars").

    Only amounts next to a currency or a price bound are rewritten, so titles such as "Ocean's Eleven" stay.
    """
    def english(m: re.Match) -> str:
        raw = m["num"]
        # "between twenty and fifty dollars": an "and" not after "hundred" / "thousand" separates two amounts; only
        # the one next to the currency is rewritten here, the other by the range that reads "between".
        parts = re.split(r"[\s-]+", raw)
        cut = 0
        for k, word in enumerate(parts):
            if word.lower() == "and" and (k == 0 or parts[k - 1].lower() not in _EN_SCALES):
                cut = k + 1
        head, words = parts[:cut], [w.lower() for w in parts[cut:] if w]
        while words and words[0] in ("a", "an") and len(words) > 1 and words[1] not in _EN_SCALES:
            words = words[1:]
        value = _en_words_value(words)
        if value is None or (value == 0 and words != ["zero"]):
            return m.group()
        prefix = " ".join(head)
        if head:
            first = _en_words_value([w.lower() for w in head[:-1]])
            prefix = (str(first) if first else " ".join(head[:-1])) + " and"
        return f"{prefix} {value}".strip()

    text = _EN_WORD_AMOUNT.sub(english, text)
    if not any(ch in _ZH_NUMERAL for ch in text):
        return text

    def chinese(m: re.Match) -> str:
        try:
            import cn2an

            value = cn2an.cn2an(m["num"], "smart")
        except (ImportError, ValueError, KeyError, TypeError):  # not a well-formed numeral: leave the words
            return m.group()
        value = int(value) if float(value).is_integer() else value
        return f"{m['pre'] or ''}{value}{m['post']}"

    return _ZH_WORD_AMOUNT.sub(chinese, text)
