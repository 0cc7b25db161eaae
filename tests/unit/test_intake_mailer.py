"""The intake's mailer: SendGrid when its key and sender are set, the local outbox on a local run,
and nothing at all (never a file of sign-in links) on a deployment without a provider."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from services.intake.mailer import NoMailer, SenderMailer, build_mailer
from services.intake.settings import IntakeSettings


def test_the_provider_is_chosen_from_the_settings(tmp_path: Path) -> None:
    sendgrid = build_mailer(IntakeSettings(sendgrid_api_key="SG.x", sendgrid_from_email="noreply@example.org",
                                           outbox_path=tmp_path / "o"))
    assert isinstance(sendgrid, SenderMailer) and sendgrid.name == "sendgrid"
    local = build_mailer(IntakeSettings(outbox_path=tmp_path / "o"))
    assert isinstance(local, SenderMailer) and local.name == "outbox"
    deployed = IntakeSettings.model_construct(public_base_url="https://report.example.police.uk",
                                              sendgrid_api_key=None, sendgrid_from_email=None,
                                              outbox_path=tmp_path / "o")
    assert isinstance(build_mailer(deployed), NoMailer)
    asyncio.run(sendgrid.close())


def test_the_local_outbox_gets_the_email(tmp_path: Path) -> None:
    mailer = build_mailer(IntakeSettings(outbox_path=tmp_path / "outbox.jsonl"))
    asyncio.run(mailer.send("wendy@example.org", "Your sign-in link", "https://x/sign-in/link?token=t"))
    (line,) = (tmp_path / "outbox.jsonl").read_text("utf-8").splitlines()
    sent: dict[str, Any] = json.loads(line)
    assert (sent["channel"], sent["to"], sent["subject"]) == ("email", "wendy@example.org", "Your sign-in link")


def test_no_provider_writes_nothing(tmp_path: Path) -> None:
    asyncio.run(NoMailer().send("wendy@example.org", "Your sign-in link", "secret link"))
    assert list(tmp_path.iterdir()) == []
