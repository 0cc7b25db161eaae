"""What a watch coordinator may see of a report. Pure: text in, text out.

Watch coordinators are volunteers. They get the report's category, its text with personal
details scrubbed, and the place coarsened to a street or a postcode sector and the area.
They never get the informant's (or a third party's) identity or contact details, the point,
the full postcode, or the informant's own description of the place.

Scrubbed from free text:

- email addresses, social media handles, phone numbers (UK and international forms);
- vehicle registrations (current, prefix and suffix formats);
- full postcodes, cut to their sector ("MK42 8AA" → "MK42 8"); house and flat numbers;
- names, by a careful best effort: a name after a title ("Mr", "Mrs", "Dr", "PC"...), after a
  relationship ("my neighbour Dave", "her ex, Tom Jones"), after an introduction ("called",
  "named", "known as", "I'm"), in a sign-off ("Thanks, Sam"); the informant's, reporter's and
  subject's own names wherever they appear; and common UK first names (with the surname that
  follows) from a built-in list. Street names ("Victoria Road") and configured place names
  are kept.

What it cannot do, and why a coordinator's view is also reduced by design rather than by
scrubbing alone: a name with no cue that is not in the list ("Kowalski was shouting again"),
names written in lower case, nicknames ("Big D"), names that are ordinary words (Will, Mark,
Rose are left out of the list on purpose), misspellings, and, above all, descriptions that
identify someone without naming them ("the man at the end house with the red van", "the
only family with a trampoline"). Those stay in the text. Over-redaction is preferred to
under-redaction: a surname that is also a word is scrubbed everywhere it appears.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from schemas import Location, WatchLocation
from services.router.areas import parse_postcode

NAME = "[name]"

_STREET_SUFFIXES = (
    "Road|Rd|Street|St|Lane|Ln|Avenue|Ave|Close|Way|Drive|Crescent|Cres|Gardens|Gdns|Place|Pl|Grove|"
    "Terrace|Court|Ct|Hill|Walk|Row|Square|Sq|Green|Rise|Mews|Parade|Boulevard|Approach|Bypass|"
    "By-pass|Embankment|Path|Meadow|Meadows|Croft|Chase|Vale|View|End|Park"
)
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
_PLATE = re.compile(
    r"\b(?:[A-Z]{2}[0-9]{2}\s?[A-Z]{3}|[A-Z][0-9]{1,3}\s?[A-Z]{3}|[A-Z]{3}\s?[0-9]{1,3}[A-Z])\b",
)
_PLATE_ANY_CASE = re.compile(r"\b[a-zA-Z]{2}[0-9]{2}\s?[a-zA-Z]{3}\b")
_POSTCODE = re.compile(r"\b([A-Za-z]{1,2}[0-9][0-9A-Za-z]?)\s*([0-9])(?![aApP][mM]\b)[A-Za-z]{2}\b")
_HOUSE_WORD = re.compile(r"\b(?:number|no\.?|nos\.?|flat|apartment|apt\.?|house|unit)\s*#?\d{1,4}[a-zA-Z]?\b",
                         re.IGNORECASE)
_HOUSE_BEFORE_STREET = re.compile(
    rf"\b\d{{1,4}}[a-zA-Z]?(?:\s*-\s*\d{{1,4}}[a-zA-Z]?)?,?\s+(?=(?:{_WORD}\s+){{1,3}}(?:{_STREET_SUFFIXES})\b)"
)

_NAME_WORD = r"[A-Z][a-z]*(?:['\u2019]?[A-Z][a-z]+)*(?:-[A-Z][a-z]+)*"
_TITLES = ("Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lady|Lord|Rev|Revd|Reverend|Father|Cllr|"
           "Councillor|PC|DC|PCSO|Sgt|Sergeant|Insp|Inspector")
_TITLED = re.compile(
    rf"\b(?:{_TITLES})\b\.?\s+(?:[A-Z]\.?\s+)*{_NAME_WORD}(?:\s+{_NAME_WORD})?"
)
_RELATIONS = (
    "neighbours?|husband|wife|partner|ex|ex-partner|ex-husband|ex-wife|boyfriend|girlfriend|son|daughter|"
    "brother|sister|mum|mother|dad|father|stepdad|stepmum|stepson|stepdaughter|uncle|aunt|auntie|cousin|"
    "nephew|niece|grandson|granddaughter|grandad|grandma|nan|friend|mate|landlord|landlady|tenant|lodger|"
    "carer|colleague|boss|flatmate|housemate|child|kid|baby"
)
_RELATED = re.compile(
    rf"\b(?i:my|our|his|her|their|the)\s+(?:(?i:next[- ]door|old|elderly|young|new|former)\s+)?"
    rf"(?i:{_RELATIONS})\s*,?\s+({_NAME_WORD}(?:\s+{_NAME_WORD})?)"
)
_INTRODUCED = re.compile(
    rf"\b(?i:called|named|name\s+is|name's|known\s+as|goes\s+by|calls\s+(?:himself|herself|themselves)|"
    rf"i\s+am|i'm|this\s+is|signed)\s+({_NAME_WORD}(?:\s+{_NAME_WORD})?)"
)
_SIGN_OFF = re.compile(
    rf"(?i:thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+wishes|cheers|sincerely|"
    rf"yours\s+sincerely|yours\s+faithfully|from)\s*[,.!-]?\s+({_NAME_WORD}(?:\s+{_NAME_WORD})?)\s*[.!]?\s*$"
)
_CAPITALISED = re.compile(rf"\b{_NAME_WORD}\b")

#: Capitalised words that are not names even after a cue ("my son Is", "called Police").
_NOT_NAMES = _words(
    "I A The This That It He She They We You Is Was Are Were And But Or So If On In At By To Of For "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July "
    "August September October November December Police Council Watch Road Street Lane Team Officer Officers "
    "Speed Neighbourhood Countryside Mr Mrs Ms Dr Today Tonight Yesterday Again Please Thanks Not Worried "
    "Concerned Sure Scared Afraid Writing Reporting Calling Just Really Very Getting Fed Sick Tired Also Here "
    "There Still Going Now Told Aware Sorry Hoping Unsure"
)

#: Common first names in England and Wales, leaving out ones that are everyday words.
FIRST_NAMES = _words(
    """
    Aaliyah Aaron Abdul Abigail Adam Adrian Ahmed Aidan Aisha Alan Albert Alex Alexander Alexandra Alfie Alice
    Alison Amanda Amelia Amir Amit Amy Andrea Andrew Andy Angela Anita Ann Anna Anne Annie Anthony Antonio
    Archie Arjun Arthur Ashley Ayesha Barbara Barry Beatrice Ben Benjamin Beth Bethany Bilal Brian Bridget
    Callum Cameron Carl Carlos Carol Caroline Catherine Charlie Charlotte Chloe Chris Christine Christopher
    Claire Clare Colin Connor Craig Daniel Danny Darren Dave David Debbie Deborah Declan Denise Dennis Derek
    Diane Dominic Donna Dylan Edward Eleanor Elizabeth Ella Ellie Emily Emma Eric Ethan Evie Fatima Finley
    Fiona Francesca Freddie Freya Gareth Gary Gavin Gemma Geoffrey George Georgia Gerald Giovanni Giuseppe
    Gordon Graham Hannah Harjit Harpreet Harry Harvey Hassan Hayley Helen Henry Hollie Hussain Ian Imran Isaac
    Isabella Isla Jacob Jake James Jamie Jan Jane Janet Jasmine Jason Jennifer Jenny Jessica Joanne Joe Joel
    John Jon Jonathan Jordan Joseph Josh Joshua Julie Justin Kamal Karen Kate Katie Kathleen Kelly Kevin
    Khalid Kieran Kirsty Krzysztof Kyle Laura Lauren Leah Lee Leo Leon Lewis Liam Linda Lisa Logan Louis
    Louise Lucy Luke Lynn Mandeep Manpreet Marco Margaret Maria Marie Martin Mary Mason Matthew Megan Michael
    Michelle Mia Mike Mohammed Mohammad Muhammad Natalie Nathan Neil Nicholas Nicola Nicole Niamh Noah Oliver
    Olivia Omar Oscar Owen Pamela Paolo Patricia Paul Pauline Peter Philip Phoebe Piotr Priya Rachel Rahul
    Rajesh Rebecca Reece Rhys Richard Robert Roberto Robyn Ronald Rosie Ryan Sadia Salvatore Sam Samantha
    Samuel Sandra Sarah Scott Sean Shaun Sharon Simon Sophie Stacey Stephen Steve Steven Stuart Susan Tanya
    Thomas Tim Timothy Tom Tomasz Tony Tracey Tracy Tyler Usman Vanessa Victoria Vikram Vincent Wayne William
    Yasmin Zainab Zara Zoe
    """
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


def _name_spans(text: str, known_names: Iterable[str], keep: frozenset[str]) -> list[_Span]:
    spans: list[_Span] = []

    def add(start: int, end: int) -> None:
        spans.append(_Span(start, end, "name", NAME))

    for pattern in (_RELATED, _INTRODUCED, _SIGN_OFF):
        for match in pattern.finditer(text):
            words = match.group(1).split()
            if words[0] in _NOT_NAMES or words[0] in keep:
                continue
            end = match.start(1) + len(words[0])
            if len(words) > 1 and words[1] not in _NOT_NAMES and words[1] not in keep:
                end = match.end(1)
            add(match.start(1), end)
    for name in known_names:
        whole = name.strip()
        candidates = [whole, *_name_words(whole)] if whole else []
        for candidate in sorted(set(candidates), key=len, reverse=True):
            pattern = re.compile(rf"(?<![\w]){re.escape(candidate)}(?![\w])", re.IGNORECASE)
            for match in pattern.finditer(text):
                add(match.start(), match.end())
    for match in _CAPITALISED.finditer(text):
        if match.group(0) not in FIRST_NAMES:
            continue
        end = match.end()
        follower = re.match(rf"\s+({_NAME_WORD})\b", text[end:])
        if follower and follower.group(1) not in _NOT_NAMES and follower.group(1) not in keep:
            end += follower.end()
        add(match.start(), end)
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
        (_HANDLE, "social_handle", "[handle]"),
        (_PHONE, "phone", "[phone]"),
        (_PLATE, "vehicle_registration", "[vehicle registration]"),
        (_PLATE_ANY_CASE, "vehicle_registration", "[vehicle registration]"),
        (_HOUSE_WORD, "house_number", "[house number]"),
        (_HOUSE_BEFORE_STREET, "house_number", ""),
    ):
        spans.extend(_Span(m.start(), m.end(), kind, replacement) for m in pattern.finditer(text))
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
