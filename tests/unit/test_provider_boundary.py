"""Provider specifics stay inside the provider adapters (``services/feedback/senders/twilio.py``
and ``sendgrid.py``): the rest of the product speaks of outcomes (``SendOutcome``,
``DeliveryOutcome``), never of Twilio's error codes or SendGrid's event names. A change that
starts deciding on ``"21610"`` in a use case fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from services.feedback.senders import sendgrid, twilio

ROOT = Path(__file__).resolve().parents[2] / "services"
ADAPTERS = {ROOT / "feedback" / "senders" / "twilio.py", ROOT / "feedback" / "senders" / "sendgrid.py"}

#: What only an adapter may know: Twilio's error codes, SendGrid's event names other than the
#: words our own states share ("delivered", "processed" is SendGrid's alone).
PROVIDER_WORDS = (
    {twilio.UNSUBSCRIBED, *twilio.INVALID_ADDRESS_CODES}
    | (sendgrid.BOUNCE_EVENTS | sendgrid.OPT_OUT_EVENTS | {"processed", "deferred"})
)


def _strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_words_guarded_are_the_adapters_own():
    assert "21610" in PROVIDER_WORDS and "spamreport" in PROVIDER_WORDS


def test_no_provider_code_or_event_name_outside_the_provider_adapters():
    leaks = {
        str(path.relative_to(ROOT.parent)): sorted(_strings(path) & PROVIDER_WORDS)
        for path in sorted(ROOT.rglob("*.py"))
        if path not in ADAPTERS and _strings(path) & PROVIDER_WORDS
    }
    assert leaks == {}
