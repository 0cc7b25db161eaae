"""The acknowledgement's track link opens the informant's report, so its secret is never stored:
the message is kept with a slot where the secret goes, and the secret is filled in only as the
message is handed to the provider (and to the local outbox)."""

from __future__ import annotations

import re

from sqlalchemy import text

from schemas import Channel, Informant
from services.common.config_files import load_categories
from services.common.track import SECRET_SLOT, check_track_secret, fill_track_secret, track_link, track_secret
from services.feedback.delivery import Delivery
from services.feedback.handlers import Handlers
from services.feedback.policy import DeliveryRules
from services.store.db import make_engine, migrate
from services.store.models import Message
from tests.unit.feedback_world import World

SECRET = "a-track-secret"
BASE = "https://report.example"


def test_the_stored_acknowledgement_holds_no_track_secret_and_the_sent_one_works(tmp_path) -> None:
    world = World(tmp_path)
    world.delivery = Delivery(
        store=world.delivery.store, senders={Channel.SMS: world.sms, Channel.EMAIL: world.email},
        publish=world.delivery._publish, rules=DeliveryRules(), clock=lambda: world.now,
        fill=lambda reference, text: fill_track_secret(SECRET, reference, text))
    handlers = Handlers(delivery=world.delivery, categories=load_categories(),
                        track_url=lambda reference: track_link(BASE, reference))
    sms = world.routed()
    email = world.routed(informant=Informant(email="resident@example.org"))

    world.run(handlers.on_routed_batch([sms, email]))

    with world.sessions() as s:
        stored = {m.reference: m for m in s.query(Message).filter(Message.trigger == "ack")}
    for item in (sms, email):
        held = stored[item.reference]
        assert track_secret(SECRET, item.reference) not in f"{held.body} {held.html}"
        assert SECRET_SLOT in held.body
    [sent_sms], [sent_email] = world.sms.sent, world.email.sent
    for sent, item in ((sent_sms, sms), (sent_email, email)):
        assert SECRET_SLOT not in sent.body and SECRET_SLOT not in (sent.html or "")
        [link] = re.findall(r"https://report\.example/track/\S+?\?secret=([0-9a-f]+)", sent.body)
        assert check_track_secret(SECRET, item.reference, link)  # the track page opens with it
    assert track_secret(SECRET, email.reference) in (sent_email.html or "")
    # an SMS is as long stored as sent: its segments were counted on what is stored
    assert len(sent_sms.body) == len(stored[sms.reference].body)


def test_the_upgrade_takes_the_secret_out_of_messages_stored_before(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url, "0016")
    reference = "MECC-AAAA-BBBB"
    secret = track_secret(SECRET, reference)
    body = f"Thank you. Follow your report online: {BASE}/track/{reference}?secret={secret}"
    html = f'<a href="{BASE}/track/{reference}?secret={secret}">Follow your report</a>'
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO messages (key, reference, trigger, role, channel, recipient, body, html, status, attempts, "
            "created_at, updated_at, guarded, lease_generation) VALUES ('k', :ref, 'ack', 'informant', 'email', '', "
            ":body, :html, 'scheduled', 0, '2026-05-04 10:00:00', '2026-05-04 10:00:00', 0, 0)"),
            {"ref": reference, "body": body, "html": html})

    migrate(url)

    with engine.connect() as connection:
        stored_body, stored_html = connection.execute(text("SELECT body, html FROM messages")).one()
    engine.dispose()
    assert secret not in stored_body + stored_html
    assert fill_track_secret(SECRET, reference, stored_body) == body  # still sent with its link
    assert fill_track_secret(SECRET, reference, stored_html) == html
