"""UK postcodes as routing and redaction read them: the district ("MK42"), the sector ("MK42 8")
and the full postcode."""

from __future__ import annotations

import re
from dataclasses import dataclass

OUTWARD = r"[A-Z]{1,2}[0-9][0-9A-Z]?"
POSTCODE = re.compile(rf"^({OUTWARD})\s*([0-9])([A-Z]{{2}})$")


@dataclass(frozen=True)
class Postcode:
    """A UK postcode split into the parts routing uses: "MK42 8AA" → district "MK42",
    sector "MK42 8"."""

    district: str
    sector: str
    full: str


def parse_postcode(text: str) -> Postcode | None:
    match = POSTCODE.match(text.strip().upper())
    if match is None:
        return None
    outward, digit, unit = match.groups()
    return Postcode(district=outward, sector=f"{outward} {digit}", full=f"{outward} {digit}{unit}")
