"""What a watch coordinator may see of a report. Pure: text in, text out.

Watch coordinators are volunteers. They get the report's category, its text with personal
details scrubbed, and the place coarsened to a street or a postcode sector and the area.
They never get the informant's (or a third party's) identity or contact details, the point,
the full postcode, or the informant's own description of the place.

Scrubbed from free text:

- email addresses, also spelled out ("john at gmail dot com", "jo(at)x(dot)org"); web
  addresses (profiles such as "facebook.com/john.smith", and any other page); social media
  handles ("@name", "his snapchat is name"); phone numbers in every form (found by
  ``phonenumbers`` as well as by pattern: "447700900123", "7700900123", "+33 6 12 34 56 78");
- vehicle registrations (current, prefix and suffix formats, spaced or dashed: "AB 12 CDE",
  "AB-12-CDE");
- full postcodes, cut to their sector ("MK42 8AA" → "MK42 8"); house and flat numbers, also
  before a street written in lower case ("15 bedford road"); house names ("Rose Cottage",
  "The Old Rectory");
- names, by a careful best effort: a name after a title ("Mr", "MRS", "Dr", "PC"...), after a
  relationship ("my neighbour Dave", "her ex, Tom Jones", "Priya's husband Raj": the owner's
  name too), after an introduction ("called", "known as", "I'm", "reported by"), in a sign-off
  ("Thanks, Sam"), after initials ("J. Smith", "J Patel"); the informant's, reporter's and
  subject's own names wherever they appear; and common first names and surnames
  (``names.py``), capitalised or in capitals, accented or not, with up to two names that
  follow ("Mary Ann Jones", "DAVE SMITH"). Street names ("Victoria Road") and configured place
  names are kept.

What it cannot do, and why a coordinator's view is also reduced by design rather than by
scrubbing alone: a name with no cue that is in neither list ("Wozniak was shouting again"),
names written in lower case, nicknames ("Big D"), names that are ordinary words (Will, Mark,
Rose are left out of the lists on purpose), misspellings, numbers written as words, partial
registrations and, above all, descriptions that identify someone without naming them ("the man
at the end house with the red van", "the only family with a trampoline"). Those stay in the
text. Over-redaction is preferred to under-redaction: a listed name is scrubbed everywhere it
is capitalised, and every web address goes. The redaction corpus
(tests/safety/redaction_corpus.yaml) holds the cases every change must pass.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from phonenumbers import Leniency, PhoneNumberMatcher

from schemas import Location, WatchLocation
from services.common.names import FIRST_NAMES, SURNAMES
from services.common.postcodes import parse_postcode

NAME = "[name]"

_STREET_SUFFIXES = (
    "Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Way|Drive|Crescent|Cres|Gardens|Gdns|Place|Pl|Grove|"
    "Terrace|Court|Ct|Hill|Walk|Row|Square|Sq|Green|Rise|Mews|Parade|Boulevard|Approach|Bypass|"
    "By-pass|Embankment|Path|Meadow|Meadows|Croft|Chase|Vale|View|End|Park"
)
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Upper- and lower-case letters of the Latin scripts names here are written in ("José", "Łukasz").
_UP = "A-Z" + "".join(c for c in map(chr, range(0xC0, 0x250)) if c.isupper())
_LO = "a-z" + "".join(c for c in map(chr, range(0xC0, 0x250)) if c.islower())
_WORD = r"[A-Z][a-zA-Z'\u2019]*(?:-[A-Z][a-zA-Z'\u2019]*)*"
_STREET = re.compile(rf"\b(?:{_WORD}\s+){{1,3}}(?:{_STREET_SUFFIXES})\b\.?")
#: Capitalised words that begin a sentence or phrase, not a street name.
_NOT_STREET_START = _words(
    "On In At Near By The Outside Along Down Up Off From To Opposite Behind Into Onto Past Towards Round "
    "Around Corner Junction Of And Between Every Top Bottom Cars Car Vans Lorries Speeding Racing Kids "
    "Youths Again Also There Here Where When Then Just Still Yesterday Today Tonight Last This That"
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_]{2,30}\b")
# A number that starts with + (international) or 0 (national) and has 9-14 more digits,
# spaced, dotted, dashed or bracketed in any way people write them.
_PHONE = re.compile(r"(?<![\w+])(?:\+\s?\d{1,3}|\(?0)(?:[\s\-().]{0,3}\d){8,13}(?![\d])")
#: Fewer digits than this is a year, a time or a count, not a phone number.
_PHONE_MIN_DIGITS = 9
_PLATE = re.compile(
    r"\b(?:[A-Z]{2}[\s-]?[0-9]{2}[\s-]?[A-Z]{3}|[A-Z][\s-]?[0-9]{1,3}[\s-]?[A-Z]{3}|[A-Z]{3}[\s-]?[0-9]{1,3}[A-Z])\b",
)
_PLATE_ANY_CASE = re.compile(r"\b[a-zA-Z]{2}-?[0-9]{2}-?[a-zA-Z]{3}\b")
#: A web address: a profile ("facebook.com/john.smith") or any page, which may name someone.
_URL = re.compile(
    r"(?i:\b(?:https?://|www\.)[^\s<>]*[^\s<>.,;:!?)\]'\"]"
    r"|(?<![a-z0-9.-])[a-z0-9-]+(?:\.[a-z0-9-]+){0,4}\.(?:com|co\.uk|org\.uk|org|net|uk|io|me|tv|app|ly|gg|be|to)"
    r"/[^\s<>]*[^\s<>.,;:!?)\]'\"])"
)
#: An email address spelled out to get past filters: "john at gmail dot com", "jo(at)x(dot)org".
_AT = r"(?:\s*(?:\(at\)|\[at\]|\{at\})\s*|\s+at\s+)"
_DOT = r"(?:\s*(?:\(dot\)|\[dot\]|\{dot\})\s*|\s+dot\s+|\.)"
_TLD = r"(?:com|net|org|uk|co|io|me|info|biz|edu|gov|ac|eu|ie|de|fr|pl)"
_EMAIL_SPELLED = re.compile(
    rf"(?i:(?<![a-z0-9_%+.-])[a-z0-9_%+-]+(?:{_DOT}[a-z0-9_%+-]+){{0,4}}{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+){{0,3}}{_DOT}{_TLD}\b)"
)
#: A handle given after its network: "his snapchat is kempston_king", "insta: jsmith99".
_NETWORK_HANDLE = re.compile(
    r"(?i:\b(?:snapchat|snap|sc|insta|instagram|ig|tiktok|tik\s+tok|twitter|x|facebook|fb|telegram|discord)"
    r"(?:\s+(?:name|handle|username|account|id))?\s*(?::|\bis\b|-)\s*)@?([A-Za-z0-9_.]{3,30})\b"
)
#: A named house: "Rose Cottage", "The Old Rectory" (a landmark like "Village Hall" is kept).
_HOUSE_NAME = re.compile(
    rf"\b(?:The\s+)?(?:{_WORD}\s+){{1,2}}(?:Cottage|Cottages|House|Lodge|Barn|Farmhouse|Rectory|Vicarage|"
    rf"Manor|Bungalow|Villa|Grange|Coach\s+House)\b"
)
_NOT_HANDLES = frozenset(
    ["the", "and", "but", "was", "has", "his", "her", "him", "she", "they", "them", "not", "now", "too", "any"]
)
_NOT_HOUSE_NAME = frozenset(
    ["Village", "Town", "Community", "Public", "Council", "Guest", "Care", "Nursing", "Coffee", "Ale", "Club",
     "Sports", "Opera", "Court", "Custody", "Police", "Station"]
)
_POSTCODE = re.compile(r"\b([A-Za-z]{1,2}[0-9][0-9A-Za-z]?)\s*([0-9])(?![aApP][mM]\b)[A-Za-z]{2}\b")
_HOUSE_WORD = re.compile(r"\b(?:number|no\.?|nos\.?|flat|apartment|apt\.?|house|unit)\s*#?\d{1,4}[a-zA-Z]?\b",
                         re.IGNORECASE)
_HOUSE_BEFORE_STREET = re.compile(
    rf"\b\d{{1,4}}[a-zA-Z]?(?:\s*-\s*\d{{1,4}}[a-zA-Z]?)?,?\s+(?=(?:{_WORD}\s+){{1,3}}(?:{_STREET_SUFFIXES})\b)"
)

#: A house number before a street written in lower case ("lives at 15 bedford road"), unless the
#: words between are a speed or a lead-in ("doing 50 on bedford road").
_LEAD_IN = ("on|in|at|up|down|along|near|past|by|the|a|an|mph|miles|mile|km|kph|to|from|of|and|or|outside|"
            "into|onto|through|round|around|towards|over|under|between|every|each|per|an hour")
_SUFFIXES_ANY_CASE = _STREET_SUFFIXES.lower().replace("|end|park", "")
_HOUSE_BEFORE_LOWER_STREET = re.compile(
    rf"(?i:\b\d{{1,4}}[a-z]?,?\s+(?=(?:(?!(?:{_LEAD_IN})\b)[a-z'\u2019-]+\s+){{1,3}}(?:{_SUFFIXES_ANY_CASE})\b))"
)

#: A name: capitalised ("Dave", "McDonald", "José", "Patel-Jones") or in capitals ("DAVE").
_NAME_WORD = (rf"(?:[{_UP}][{_LO}]*(?:['\u2019]?[{_UP}][{_LO}]+)*(?:-[{_UP}][{_LO}]+)*"
              rf"|[{_UP}]{{2,}}(?:['\u2019-][{_UP}]+)*)(?![{_LO}{_UP}])")
_TITLES = ("Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lady|Lord|Rev|Revd|Reverend|Father|Cllr|"
           "Councillor|PC|DC|PCSO|Sgt|Sergeant|Insp|Inspector")
#: Titles as written or in capitals ("MR SMITH"), never in lower case ("ms", "pc" are words).
_ANY_TITLE = "|".join(sorted({*_TITLES.split("|"), *(t.upper() for t in _TITLES.split("|"))}))
_NAMES = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}}"
_TITLED = re.compile(
    rf"\b(?:{_ANY_TITLE})\b\.?\s+(?:[{_UP}]\.?\s+)*{_NAME_WORD}(?:\s+{_NAME_WORD})?"
)
_RELATIONS = (
    "neighbours?|husband|wife|partner|ex|ex-partner|ex-husband|ex-wife|boyfriend|girlfriend|son|daughter|"
    "brother|sister|mum|mother|dad|father|stepdad|stepmum|stepson|stepdaughter|uncle|aunt|auntie|cousin|"
    "nephew|niece|grandson|granddaughter|grandad|grandma|nan|friend|mate|landlord|landlady|tenant|lodger|"
    "carer|colleague|boss|flatmate|housemate|child|kid|baby|fiancée?|bloke|fella|lad|man|woman|guy|girl|boy"
)
#: "my neighbour Dave", "her ex, Tom Jones", "Priya's husband Raj" (Priya is a name too).
_RELATED = re.compile(
    rf"(?:\b(?i:my|our|his|her|their|the|your)|(?P<owner>{_NAME_WORD})['\u2019]s)\s+"
    rf"(?:(?i:next[- ]door|old|elderly|young|new|former|own)\s+)?"
    rf"(?i:{_RELATIONS})\s*,?\s+(?P<name>{_NAMES})"
)
_INTRODUCED = re.compile(
    rf"\b(?i:called|named|name\s+is|name's|known\s+as|goes\s+by|calls\s+(?:himself|herself|themselves)|"
    rf"i\s+am|i'm|this\s+is|signed|(?:reported|written|sent|submitted|signed)\s+by|aka|a\.k\.a\.)\s+(?P<name>{_NAMES})"
)
_SIGN_OFF = re.compile(
    rf"(?i:thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+wishes|cheers|sincerely|"
    rf"yours\s+sincerely|yours\s+faithfully|from)\s*[,.!-]?\s+(?P<name>{_NAMES})\s*[.!]?\s*$"
)
#: Initials before a name: "J. Smith", "J.R. Smith", "J Smith" (that last one only before a known surname).
_INITIALLED = re.compile(rf"\b(?:[{_UP}]\.\s*)+(?P<name>{_NAME_WORD})")
_INITIAL_SURNAME = re.compile(rf"\b[{_UP}]\s+(?P<name>{_NAME_WORD})")
_CAPITALISED = re.compile(rf"\b{_NAME_WORD}")
_FOLLOWER = re.compile(rf"\s+({_NAME_WORD})")
_BEFORE = re.compile(rf"(?<![\w'\u2019])({_NAME_WORD})\s+$")

#: Capitalised words that are not names even after a cue ("my son Is", "called Police").
_NOT_NAMES = _words(
    "I A The This That It He She They We You Is Was Are Were And But Or So If On In At By To Of For "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July "
    "August September October November December Police Council Watch Road Street Lane Team Officer Officers "
    "Speed Neighbourhood Countryside Mr Mrs Ms Dr Today Tonight Yesterday Again Please Thanks Not Worried "
    "Concerned Sure Scared Afraid Writing Reporting Calling Just Really Very Getting Fed Sick Tired Also Here "
    "There Still Going Now Told Aware Sorry Hoping Unsure"
)

@dataclass(frozen=True)
class Scrubbed:
    text: str
    #: What was taken out, by kind, e.g. {"phone": 1, "name": 2}.
    removed: dict[str, int]


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str
    replacement: str


def street_of(text: str | None) -> str | None:
    """The first street name in the text ("outside 12 Bedford Road" → "Bedford Road")."""
    if not text:
        return None
    for match in _STREET.finditer(text):
        words = match.group(0).rstrip(".").split()
        while len(words) > 1 and words[0] in _NOT_STREET_START:
            words.pop(0)
        if len(words) > 1:
            return " ".join(words)
    return None


def safe_street(description: str, location: Location, *, known_names: Iterable[str] = ()) -> str | None:
    """The street a report is about (from the place description, else the text), unless it
    holds a titled name ("Mr Smith Close" is more likely a person than a street) or a name
    the report gives: coarse enough to show a watch."""
    street = street_of(location.description) or street_of(description)
    if street is None or _TITLED.search(street):
        return None
    for name in known_names:
        for word in _name_words(name):
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", street, re.IGNORECASE):
                return None
    return street


def _streets(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _STREET.finditer(text):
        words = match.group(0).split()
        start = match.start()
        while len(words) > 1 and words[0] in _NOT_STREET_START:
            start = text.index(words[1], start + len(words[0]))
            words.pop(0)
        if len(words) > 1:
            spans.append((start, match.end()))
    return spans


def _overlaps(span: tuple[int, int], others: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def _name_words(name: str) -> list[str]:
    titles = set(_TITLES.split("|"))
    return [w for w in re.findall(r"[^\W\d_][\w'\u2019-]*", name) if len(w) > 1 and w not in titles]


def _is_word(word: str, keep: frozenset[str]) -> bool:
    """An ordinary or place word, not a name ("Is", "Outside", "Kempston"), in any case."""
    title = word[:1] + word[1:].lower()
    return bool({word, title} & (_NOT_NAMES | _NOT_STREET_START | keep))


def _known(word: str) -> bool:
    title = word[:1] + word[1:].lower()
    return bool({word, title} & (FIRST_NAMES | SURNAMES))


def _name_end(text: str, start: int, end: int, keep: frozenset[str]) -> int:
    """Where the name that starts at ``text[start:end]`` ends: up to two more name words follow
    ("Mary Ann Jones"); the second only if it is written like a name, not in capitals, or is a
    known name ("DAVE SMITH IS DEALING" stops at SMITH)."""
    for extra in range(2):
        follower = _FOLLOWER.match(text, end)
        if not follower or _is_word(follower.group(1), keep):
            break
        word = follower.group(1)
        if extra and word.isupper() and not _known(word):
            break
        end = follower.end()
    return end


def _name_spans(text: str, known_names: Iterable[str], keep: frozenset[str]) -> list[_Span]:
    spans: list[_Span] = []

    def add(start: int, end: int) -> None:
        spans.append(_Span(start, end, "name", NAME))

    for pattern in (_RELATED, _INTRODUCED, _SIGN_OFF, _INITIALLED, _INITIAL_SURNAME):
        for match in pattern.finditer(text):
            first = re.match(_NAME_WORD, match.group("name"))
            assert first is not None
            word = first.group(0)
            if _is_word(word, keep) or (pattern is _INITIAL_SURNAME and word not in SURNAMES):
                continue
            at = match.start("name")
            start = match.start() if pattern in (_INITIALLED, _INITIAL_SURNAME) else at
            add(start, _name_end(text, at, at + len(word), keep))
            owner = match.groupdict().get("owner")
            if owner and not _is_word(owner, keep):
                add(match.start("owner"), match.end("owner"))
    for name in known_names:
        whole = name.strip()
        candidates = [whole, *_name_words(whole)] if whole else []
        for candidate in sorted(set(candidates), key=len, reverse=True):
            pattern = re.compile(rf"(?<![\w]){re.escape(candidate)}(?![\w])", re.IGNORECASE)
            for match in pattern.finditer(text):
                add(match.start(), match.end())
    for match in _CAPITALISED.finditer(text):
        word = match.group(0)
        if not _known(word) or word in keep:
            continue
        start = match.start()
        # A known surname takes the name before it ("Raj Patel"), unless that is an ordinary word.
        window = max(0, start - 60)
        before = _BEFORE.search(text[window:start])
        if word[:1] + word[1:].lower() in SURNAMES and before and not _is_word(before.group(1), keep):
            start = window + before.start(1)
        add(start, _name_end(text, match.start(), match.end(), keep))
    return spans


def scrub(text: str, *, known_names: Iterable[str] = (), keep_words: Iterable[str] = ()) -> Scrubbed:
    """Take contact details, vehicle registrations, house numbers and names out of free text.

    ``known_names``: names the report itself gives (informant, reporter, subject): scrubbed
    wherever they appear. ``keep_words``: place names that must not be taken for names.
    """
    keep = frozenset(keep_words)
    spans: list[_Span] = []
    # Earlier kinds win where matches overlap (an email's local part is not a handle).
    for pattern, kind, replacement in (
        (_EMAIL, "email", "[email]"),
        (_EMAIL_SPELLED, "email", "[email]"),
        (_URL, "link", "[link]"),
        (_HANDLE, "social_handle", "[handle]"),
        (_PHONE, "phone", "[phone]"),
        (_PLATE, "vehicle_registration", "[vehicle registration]"),
        (_PLATE_ANY_CASE, "vehicle_registration", "[vehicle registration]"),
        (_HOUSE_WORD, "house_number", "[house number]"),
        (_HOUSE_BEFORE_STREET, "house_number", ""),
        (_HOUSE_BEFORE_LOWER_STREET, "house_number", ""),
    ):
        spans.extend(_Span(m.start(), m.end(), kind, replacement) for m in pattern.finditer(text))
    spans.extend(_Span(m.start(1), m.end(1), "social_handle", "[handle]") for m in _NETWORK_HANDLE.finditer(text)
                 if m.group(1).lower() not in _NOT_HANDLES)
    spans.extend(_Span(m.start(), m.end(), "house_name", "[house name]") for m in _HOUSE_NAME.finditer(text)
                 if not _NOT_HOUSE_NAME & set(m.group(0).split()))
    for found in PhoneNumberMatcher(text, "GB", leniency=Leniency.POSSIBLE):
        if sum(c.isdigit() for c in found.raw_string) >= _PHONE_MIN_DIGITS:
            spans.append(_Span(found.start, found.end, "phone", "[phone]"))
    spans.extend(
        _Span(m.start(), m.end(), "postcode", f"{m.group(1).upper()} {m.group(2)}")
        for m in _POSTCODE.finditer(text)
    )
    # A title is a strong cue: "Mr Smith" is a person even where it looks like a street.
    spans.extend(_Span(m.start(), m.end(), "name", NAME) for m in _TITLED.finditer(text))
    streets = _streets(text)
    spans.extend(s for s in _name_spans(text, known_names, keep) if not _overlaps((s.start, s.end), streets))
    chosen: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if chosen and span.start < chosen[-1].end:
            continue
        chosen.append(span)
    out, last = [], 0
    for span in chosen:
        out.append(text[last:span.start])
        out.append(span.replacement)
        last = span.end
    out.append(text[last:])
    return Scrubbed("".join(out), dict(Counter(s.kind for s in chosen)))


@dataclass(frozen=True)
class WatchView:
    """A report as a watch coordinator may see it."""

    description: str
    location: WatchLocation
    #: Kinds of thing taken out or coarsened, sorted: "informant", "point", "phone", "name"...
    redactions: tuple[str, ...]


def watch_view(
    description: str,
    location: Location,
    *,
    area_name: str | None,
    known_names: Iterable[str] = (),
    keep_words: Iterable[str] = (),
) -> WatchView:
    """Redact a report's text and coarsen its place for a watch. The informant's identity is
    never an input, so it can never be an output; "informant" is recorded as withheld."""
    known_names = list(known_names)
    text = scrub(description, known_names=known_names, keep_words=keep_words)
    kinds = {"informant", *text.removed}
    postcode = parse_postcode(location.postcode) if location.postcode else None
    if location.latitude is not None:
        kinds.add("point")
    if location.postcode:
        kinds.add("postcode")
    if location.description:
        kinds.add("place_description")
    street = safe_street(description, location, known_names=list(known_names))
    return WatchView(
        description=text.text[:5000],
        location=WatchLocation(street=street, postcode_sector=postcode.sector if postcode else None,
                               area=area_name),
        redactions=tuple(sorted(kinds)),
    )
