"""SMS text rules: GSM-7 normalisation and segment counting. Pure.

A message in the GSM 03.38 alphabet fits 160 characters in one segment and 153 per segment
when split; a single character outside it (a curly quote, an emoji) turns the whole message
into UCS-2 at 70 / 67. So we normalise before sending and count what we send.
"""

from __future__ import annotations

import unicodedata

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: Characters sent as an escape plus one: they cost two septets.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u200b": "", "\t": " ", "\u2022": "-",
    "`": "'", "\u00b4": "'",
}

MAX_SEGMENTS = 2


def normalise(text: str) -> str:
    """Replace characters that would force UCS-2 with their nearest GSM-7 equivalents."""
    out = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        else:
            stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append("".join(c for c in stripped if c in GSM7_BASIC) or "?")
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def septets(text: str) -> int:
    return len(text) + sum(text.count(ch) for ch in GSM7_EXTENDED)


def segments(text: str) -> int:
    """How many SMS segments the text is billed and delivered as."""
    if is_gsm7(text):
        n = septets(text)
        return 1 if n <= 160 else -(-n // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def fit(template: str, variable: str, max_segments: int = MAX_SEGMENTS) -> str:
    """Fill ``{text}`` in ``template`` with ``variable``, shortened with "..." if needed so
    the normalised result fits ``max_segments``."""
    template = normalise(template)
    variable = normalise(variable)
    budget = 153 * max_segments if max_segments > 1 else 160
    full = template.replace("{text}", variable)
    if septets(full) <= budget:
        return full
    room = budget - septets(template.replace("{text}", "")) - 3
    used, keep = 0, 0
    for ch in variable:
        used += 2 if ch in GSM7_EXTENDED else 1
        if used > room:
            break
        keep += 1
    return template.replace("{text}", variable[:keep].rstrip() + "...")
