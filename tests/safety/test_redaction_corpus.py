"""Promise 3: free text that a watch reads is scrubbed of people and contact details, and keeps
what makes the report useful. Every case of ``redaction_corpus.yaml`` (whose header lists the
known limits) must pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.redaction import scrub
from services.router.config import load_routing_config

CORPUS = Path(__file__).with_name("redaction_corpus.yaml")
CASES: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text())["cases"]
PLACE_WORDS = load_routing_config().place_words


def test_the_corpus_is_big_enough_and_well_formed():
    assert len(CASES) >= 60
    for case in CASES:
        assert set(case) <= {"text", "gone", "kept", "names"}, case
        assert case["gone"] or case["kept"], case
        for kept in case["kept"]:
            assert kept in case["text"], f"{kept!r} is not in the text to begin with"


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_the_redaction_corpus(case):
    out = scrub(case["text"], known_names=case.get("names", ()), keep_words=PLACE_WORDS).text
    leaked = [g for g in case["gone"] if str(g).lower() in out.lower()]
    lost = [k for k in case["kept"] if k not in out]
    assert not leaked and not lost, f"scrubbed to {out!r}: leaked {leaked}, lost {lost}"
