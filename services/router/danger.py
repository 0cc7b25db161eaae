"""Spotting words in a report. Pure.

Two things are read from a report's words, with the one matcher here (``Phrases``):

- **Danger now.** This service takes non-urgent information, but people do type "he has a
  knife" or "it is happening now" into a form. Such a report is flagged for the force control
  room and the informant is told to call 999 (``rules.yaml``: ``danger.phrases``).
- **A sensitive matter under another category.** Domestic abuse described under "anti-social
  behaviour" is still domestic abuse: it is treated as sensitive, kept from watches and also
  sent to the teams that take the sensitive category (``rules.yaml``: ``sensitive_phrases``).

The check is deliberately simple and errs towards flagging: whole words and phrases, any
case, any run of spaces or punctuation between the words of a phrase ("hits-her", "hits, her"),
straight or curly apostrophes alike, with no attempt at reading negation ("no weapons seen"
is flagged too). A human decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Between the words of a phrase: any run of spaces and punctuation (not an apostrophe).
_GAP = r"[^\w'\u2019]+"


def _key(text: str) -> str:
    """A phrase or a match, normalised: lower case, straight apostrophes, single spaces."""
    return " ".join(re.split(_GAP, text.lower().replace("\u2019", "'"))).strip()


class Phrases:
    """Configured phrases compiled into one whole-word, case-insensitive pattern."""

    def __init__(self, phrases: Iterable[str]) -> None:
        keys = sorted({_key(p) for p in phrases if _key(p)}, key=len, reverse=True)
        parts = [_GAP.join(re.escape(w).replace("'", "['\u2019]") for w in key.split()) for key in keys]
        self._pattern = re.compile(r"(?<![\w'\u2019])(?:" + "|".join(parts) + r")(?![\w'\u2019])",
                                   re.IGNORECASE) if parts else None

    def found(self, *texts: str | None) -> tuple[str, ...]:
        """The phrases present in any of the texts, normalised (lower case, single spaces), in
        order of first appearance."""
        if self._pattern is None:
            return ()
        seen: dict[str, None] = {}
        for text in texts:
            if not text:
                continue
            for match in self._pattern.finditer(text):
                seen.setdefault(_key(match.group(0)), None)
        return tuple(seen)


#: The danger phrases are matched like any others.
DangerPhrases = Phrases
