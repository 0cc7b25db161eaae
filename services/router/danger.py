"""Spotting reports whose words suggest someone is in danger now. Pure.

This service takes non-urgent information, but people do type "he has a knife" or "it is
happening now" into a form. Such a report is flagged for the force control room and the
informant is told to call 999. The check is deliberately simple and errs towards flagging:
whole-word phrases from ``rules.yaml`` (``danger.phrases``), any case, with no attempt at
reading negation ("no weapons seen" is flagged too). A human in the control room decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


class DangerPhrases:
    """The configured phrases compiled into one whole-word, case-insensitive pattern."""

    def __init__(self, phrases: Iterable[str]) -> None:
        words = sorted({p.strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
        parts = [r"\s+".join(re.escape(w) for w in phrase.split()) for phrase in words]
        self._pattern = re.compile(r"(?<![\w'])(?:" + "|".join(parts) + r")(?![\w'])", re.IGNORECASE) \
            if parts else None

    def found(self, *texts: str | None) -> tuple[str, ...]:
        """The phrases present in any of the texts, lower-cased, in order of first appearance."""
        if self._pattern is None:
            return ()
        seen: dict[str, None] = {}
        for text in texts:
            if not text:
                continue
            for match in self._pattern.finditer(text):
                seen.setdefault(" ".join(match.group(0).lower().split()), None)
        return tuple(seen)
