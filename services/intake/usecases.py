"""What the intake does, once: the JSON API, the pages and Open311 are adapters over these.

Each use case takes plain inputs (a request model, the principal asking, an idempotency key) and
the ports (``Ports``: publisher, store, categories), publishes the event, counts it and logs it.
It raises the domain errors below, never an HTTP answer: each adapter says them in its own way
(the API as 4xx JSON, the pages as form errors, Open311 as its own error documents).
``PublishFailed`` (the broker did not acknowledge) passes through unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from schemas import Channel, DeliveryStatus, InboundMessage, PreferenceChange, UpdateKind, WatchItem
from schemas.events import ActorKind
from schemas.topics import (
    CASES_UPDATES,
    CONTACTS_PUBLIC,
    CONTACTS_THIRD_PARTY,
    FEEDBACK_DELIVERY,
    FEEDBACK_INBOUND,
    FEEDBACK_PREFERENCES,
)
from services.audit import AuditAction
from services.common import metrics
from services.common.config_files import Categories
from services.common.logging import get_logger
from services.common.redaction import scrub
from services.common.sql import Store
from services.feedback.policy import QuietHours
from services.intake import pages_store, reports
from services.intake.access import LINK_ROLES, Access, Principal, PrincipalKind
from services.intake.audit import AuditLog
from services.intake.mailer import Mailer
from services.intake.permissions import Permission, allowed
from services.intake.publisher import EventPublisher, PublishFailed
from services.intake.reports import (
    Accepted,
    ActionRequest,
    ClusterAccepted,
    PublicReportRequest,
    ThirdPartyReportRequest,
)
from services.intake.settings import IntakeSettings
from services.store import claims, links, publications, repository
from services.store import routing as routing_store
from services.store import staff as staff_store
from services.store.models import PublicationState
from services.store.paging import Cursor
from services.store.publications import PublicationRow

log = get_logger(__name__)


class Ports(Protocol):
    """What the use cases need of the outside world (``Context`` has them)."""

    @property
    def publisher(self) -> EventPublisher: ...

    @property
    def store(self) -> Store: ...

    @property
    def categories(self) -> Categories: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


# ---- domain errors ---------------------------------------------------------------------------------


class IntakeError(Exception):
    """Something the asker can be told; ``str()`` is the words."""


class Unauthenticated(IntakeError):
    """No principal: a missing or unknown key, or nobody signed in."""


class Forbidden(IntakeError):
    """This principal may not do this."""


class NotFound(IntakeError):
    """No such report or cluster (for this principal)."""


class NotRoutedYet(NotFound):
    """The report is not (yet) routed anywhere: nobody may act on it."""


class IdempotencyKeyReused(IntakeError):
    """The caller's ``Idempotency-Key`` was first used with a different request."""


class UnknownCategory(IntakeError):
    def __init__(self, field: str, allowed: Sequence[str]) -> None:
        super().__init__(f"unknown category for {field}")
        self.field = field
        self.allowed = sorted(allowed)


class InvalidField(IntakeError):
    """One field of the request is wrong: ``field`` names it, ``message`` says how (and
    ``allowed``, when given, lists what it may be)."""

    def __init__(self, field: str, message: str, allowed: Sequence[str] = ()) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.allowed = list(allowed)


class Conflict(IntakeError):
    """Not in a state for this any more (e.g. a publication approved or withdrawn meanwhile)."""


class UnsafeWindows(IntakeError):
    """Safe times that can never open on the person's channel (e.g. texts only in quiet hours)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ---- who may do what ---------------------------------------------------------------------------------


def authorise(principal: Principal | None, permission: Permission) -> Principal:
    """``principal`` if its role may (``permissions.TABLE``): Unauthenticated if there is none,
    Forbidden if it may not. The one check every entry point makes."""
    if principal is None:
        raise Unauthenticated("missing or unknown X-API-Key")
    if not allowed(principal, permission):
        raise Forbidden(f"a {principal.role} may not {permission.value.replace('_', ' ')}")
    return principal


def may_act_on(principal: Principal, destinations: Sequence[str]) -> bool:
    """Is a report routed to ``destinations`` this principal's to see and act on?"""
    return principal.scope == "all" or principal.id in destinations


def _may_record(actor: Principal, body: ActionRequest) -> None:
    authorise(actor, Permission.RECORD_ACTION)
    if body.kind is not UpdateKind.ACTION and not allowed(actor, Permission.CLOSE_REPORT):
        # A watch says what it did; whether the report is closed is the police's (a supervisor's) call.
        if actor.kind is PrincipalKind.WATCH:
            raise Forbidden("a watch may record actions; closing a report is for the police")
        raise Forbidden("closing a report is for a supervisor")


def _actor_kind(actor: Principal) -> ActorKind:
    """Who the informant will hear an update from: the police, or the watch by its name."""
    return "watch" if actor.kind is PrincipalKind.WATCH else "team"


def _check_category(ports: Ports, category: str) -> None:
    if category not in ports.categories.categories:
        raise UnknownCategory("category", list(ports.categories.categories))


# ---- use cases -------------------------------------------------------------------------------------


def _check_windows(body: PublicReportRequest | ThirdPartyReportRequest, quiet: QuietHours | None) -> None:
    for field, problem in reports.window_problems(body, quiet or QuietHours()):
        raise UnsafeWindows(field, problem)


async def _identity(ports: Ports, request: reports.Model, scope: str, idempotency_key: str | None
                    ) -> reports.Identity:
    """Claim the report's reference before anything is published, so no two reports ever share
    one: a random reference that is taken is drawn again. With an idempotency key, the key is the
    caller's own (``scope``) and bound to the request: the same key and request is the same
    report; the same key with another request is refused (``IdempotencyKeyReused``)."""
    scoped = reports.scoped_key(scope, idempotency_key) if idempotency_key else None
    key_digest = reports.digest(f"mecc:idempotency:{scoped}") if scoped else None
    request_digest = reports.body_digest(request)
    try:
        found = await ports.store.run(claims.claim, reports.reference_candidates(scoped), ports.clock(),
                                      key_digest, request_digest)
    except (SQLAlchemyError, claims.ReferencesExhausted) as exc:
        # Nothing was published: the caller hears 503 and retries, as when the broker is down.
        raise PublishFailed(f"the store did not answer: {type(exc).__name__}") from exc
    if not found.same_body:
        metrics.IDEMPOTENCY_KEY_REUSED.inc()
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different request; "
                                   "use a new key for a new report")
    return reports.Identity(reports.event_id_for(scoped), found.reference)


async def submit_public_report(ports: Ports, body: PublicReportRequest, idempotency_key: str | None,
                               *, scope: str, via: str = "api", quiet: QuietHours | None = None) -> Accepted:
    """A member of the public's report, published as a ``PublicContact``. ``scope`` is whose
    idempotency key it is (the API key's principal, or for an anonymous caller its address);
    ``quiet``: the SMS quiet hours safe times are checked against (default: the feedback worker's)."""
    _check_category(ports, body.category)
    _check_windows(body, quiet)
    contact = reports.public_contact(body, await _identity(ports, body, scope, idempotency_key), at=ports.clock())
    await ports.publisher.publish(CONTACTS_PUBLIC.name, contact.reference, contact)
    metrics.REPORTS_RECEIVED.labels("public").inc()
    log.info("report_accepted", reference=contact.reference, category=body.category, kind="public", via=via)
    if contact.informant is not None:
        await ports.audit.record(AuditAction.COLLECTION, "public_report", None, reference=contact.reference,
                                 at=ports.clock())
    hears_back = contact.informant is not None and contact.informant.channel_to_use() is not None
    return Accepted(reference=contact.reference, message=reports.acknowledgement(contact.reference, hears_back))


async def submit_third_party_report(ports: Ports, organisation: Principal, body: ThirdPartyReportRequest,
                                    idempotency_key: str | None, *, via: str = "api",
                                    quiet: QuietHours | None = None) -> Accepted:
    """An organisation's report on someone's behalf, published as a ``ThirdPartyContact``; its
    idempotency keys are the organisation's own."""
    authorise(organisation, Permission.SUBMIT_FOR_OTHERS)
    _check_category(ports, body.category)
    _check_windows(body, quiet)
    identity = await _identity(ports, body, f"org:{organisation.id}", idempotency_key)
    contact = reports.third_party_contact(body, organisation.id, identity, at=ports.clock())
    await ports.publisher.publish(CONTACTS_THIRD_PARTY.name, contact.reference, contact)
    metrics.REPORTS_RECEIVED.labels("third_party").inc()
    log.info("report_accepted", reference=contact.reference, category=body.category, kind="third_party",
             organisation=organisation.id, via=via)
    await ports.audit.record(AuditAction.COLLECTION, "third_party_report", organisation,
                             reference=contact.reference, at=ports.clock())
    return Accepted(reference=contact.reference, message=reports.acknowledgement(contact.reference, True))


async def record_action(ports: Ports, actor: Principal, reference: str, body: ActionRequest,
                        idempotency_key: str | None, *, via: str = "api") -> Accepted:
    """What a team or watch did about a report routed to it, published as a ``CaseUpdate``.
    NotRoutedYet for a report not routed (yet); Forbidden for one routed elsewhere, or a watch
    trying to close."""
    _may_record(actor, body)
    destinations = await ports.store.run(repository.routed_to, reference)
    if destinations is None:
        raise NotRoutedYet(f"no routed report {reference}")
    if not may_act_on(actor, destinations):
        raise Forbidden(f"{reference} was not routed to {actor.id}")
    update = reports.case_update(reference, body, actor.id, actor.name, idempotency_key, _actor_kind(actor),
                                 at=ports.clock())
    await ports.publisher.publish(CASES_UPDATES.name, reference, update)
    metrics.REPORTS_RECEIVED.labels("action").inc()
    log.info("action_accepted", reference=reference, team=actor.id, kind=body.kind.value, via=via,
             person=actor.person)
    # Who wrote it, for the record; the informant reads the team's name only.
    await ports.audit.record(AuditAction.ALTERATION, f"record_{body.kind.value}", actor, reference=reference,
                             at=ports.clock())
    return Accepted(reference=reference, message="Recorded. The informant will be told.")


async def record_cluster_action(ports: Ports, actor: Principal, cluster_id: str, body: ActionRequest,
                                idempotency_key: str | None) -> ClusterAccepted:
    """One action for every report in the cluster routed to ``actor``: each informant hears it.
    For police teams only: one text to many informants is the police's to send, not a watch's."""
    authorise(actor, Permission.TELL_CLUSTER)
    _may_record(actor, body)
    references = await ports.store.run(routing_store.cluster_references, cluster_id)
    if not references:
        raise NotFound(f"no cluster {cluster_id}")
    mine = []
    for reference in references:
        destinations = await ports.store.run(repository.routed_to, reference)
        if destinations is not None and may_act_on(actor, destinations):
            mine.append(reference)
    if not mine:
        raise Forbidden(f"no report in cluster {cluster_id} was routed to {actor.id}")
    key = f"cluster:{cluster_id}:{idempotency_key or uuid.uuid4().hex}"
    for reference in mine:
        update = reports.case_update(reference, body, actor.id, actor.name, key, _actor_kind(actor),
                                     at=ports.clock())
        await ports.publisher.publish(CASES_UPDATES.name, reference, update)
        metrics.REPORTS_RECEIVED.labels("action").inc()
        await ports.audit.record(AuditAction.ALTERATION, f"record_{body.kind.value}", actor, reference=reference,
                                 at=ports.clock())
    log.info("cluster_action_accepted", cluster=cluster_id, team=actor.id, reports=len(mine))
    return ClusterAccepted(reference=mine[0], reports=len(mine),
                           message=f"Recorded for {len(mine)} reports. Each informant will be told.")


def watch_entries(watch: Principal, actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What a watch reads of what was done about a report: its own entries, and the notes the
    police wrote for watches (``watch_note``), each as ``actor``, ``text``, ``recorded_at`` and
    ``outcome``. Never the words anyone else wrote for the informant (``public_text``), which can
    name the informant and say what the police told them."""
    entries = []
    for a in actions:
        if a["actor_id"] == watch.id:
            entries.append({"actor": watch.name, "text": a["public_text"], "recorded_at": a["recorded_at"],
                            "outcome": a["outcome"]})
        elif a.get("watch_note"):
            entries.append({"actor": "The police", "text": a["watch_note"], "recorded_at": a["recorded_at"],
                            "outcome": a["outcome"]})
    return entries


async def watch_item_updates(ports: Ports, watch: Principal, reference: str) -> list[dict[str, Any]]:
    """What a watch may read of what was done about one of its items (``watch_entries``)."""
    authorise(watch, Permission.LIST_WATCH_ITEMS)
    return watch_entries(watch, await ports.store.run(pages_store.report_actions, reference))


async def watch_items_updates(ports: Ports, watch: Principal,
                              references: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """``watch_item_updates`` for a page of items, in one query."""
    authorise(watch, Permission.LIST_WATCH_ITEMS)
    actions = await ports.store.run(pages_store.actions_of, references)
    return {reference: watch_entries(watch, found) for reference, found in actions.items()}


async def list_watch_items(ports: Ports, watch: Principal, watch_id: str, limit: int,
                           before: Cursor | None = None) -> tuple[list[WatchItem], str | None]:
    """One page of a watch's own items, newest first (redacted by the router before they were
    stored), and the cursor of the next page (None after the last)."""
    authorise(watch, Permission.LIST_WATCH_ITEMS)
    if watch.id != watch_id:
        raise Forbidden("this key may list only its own watch's items")
    rows = await ports.store.run(routing_store.watch_items_for, watch_id, limit=limit + 1, before=before)
    items = [WatchItem.model_validate(r) for r in rows[:limit]]
    following = (Cursor(items[-1].received_at, items[-1].reference).token()
                 if len(rows) > limit and items else None)
    log.info("watch_items_listed", watch=watch_id, count=len(items))
    return items, following


# ---- what the providers and the people written to tell us -------------------------------------------

async def report_delivery(ports: Ports, event: DeliveryStatus) -> None:
    """A provider's word on a message (delivered, failed, bounced, opted out), for the feedback
    worker, keyed by the provider's id of the message so one message's news stays in order."""
    await ports.publisher.publish(FEEDBACK_DELIVERY.name, event.provider_id, event)


async def pass_on_reply(ports: Ports, event: InboundMessage) -> None:
    """A text or email someone sent us, for the feedback worker to read (an answer, an opt-out,
    new information), keyed by its sender so one person's replies stay in order."""
    await ports.publisher.publish(FEEDBACK_INBOUND.name, event.sender, event)


async def unsubscribe_email(ports: Ports, address_digest: str, *, source: str) -> None:
    """An email address asked (by its signed unsubscribe link) for no more emails."""
    event = PreferenceChange(emitted_at=ports.clock(), channel=Channel.EMAIL, address_digest=address_digest,
                             opted_out=True, source=source)
    await ports.publisher.publish(FEEDBACK_PREFERENCES.name, address_digest, event)
    log.info("unsubscribed", channel=Channel.EMAIL, source=source)


# ---- sign-in by a one-time email link (people without a force account) ------------------------------


class SignInPorts(Protocol):
    """What the email-link sign-in needs: the store, the mailer, the audit log, the access config,
    the clock and the settings (``Context`` has them all)."""

    @property
    def store(self) -> Store: ...

    @property
    def mailer(self) -> Mailer: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def access(self) -> Access: ...

    @property
    def settings(self) -> IntakeSettings: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


class InvalidInvitation(IntakeError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def plausible_email(email: str) -> bool:
    local, _, domain = email.strip().rpartition("@")
    return bool(local) and "." in domain and len(email) <= 254 and not any(c.isspace() for c in email.strip())


async def _send_link(ports: SignInPorts, account: links.Account) -> None:
    minutes = ports.settings.sign_in_link_minutes
    token = await ports.store.run(links.issue, account.person, now=ports.clock(), valid=timedelta(minutes=minutes))
    url = f"{ports.settings.public_base_url.rstrip('/')}/sign-in/link?token={token}"
    body = (f"Hello {account.name},\n\nUse this link to sign in to Make every contact count. It works once, "
            f"for {minutes} minutes:\n\n{url}\n\nIf you did not ask to sign in, ignore this email: nobody can "
            "sign in without the link.\n")
    await ports.mailer.send(account.email, "Your sign-in link", body)
    log.info("sign_in_link_sent", person=account.person)


async def request_sign_in_link(ports: SignInPorts, email: str) -> None:
    """Email a one-time sign-in link to ``email`` if it belongs to an account that is not disabled;
    otherwise nothing. It says neither way (the page answers the same for any address), and a
    failure to send is logged, never shown."""
    try:
        account = await ports.store.run(links.by_email, email)
        if account is None or account.disabled:
            log.info("sign_in_link_not_sent", reason="disabled" if account else "no account")
            return
        await _send_link(ports, account)
    except Exception:  # said to nobody: the page has answered already
        log.exception("sign_in_link_failed")


async def sign_in_with_link(ports: SignInPorts, token: str) -> Principal | None:
    """The person a link's token signs in, using the link up; None if it is unknown, used, expired,
    or its account is disabled or no longer fits its unit."""
    if not token or len(token) > 100:
        return None
    account = await ports.store.run(links.consume, token, now=ports.clock())
    if account is None:
        return None
    return ports.access.link_person(account.person, account.name, account.role, account.principal_id)


async def invite_link_account(ports: SignInPorts, admin: Principal, *, email: str, name: str, role: str,
                              unit: str) -> links.Account:
    """An administrator invites a person without a force account; their first link goes at once."""
    email, name = links.normalise(email), name.strip()
    if not plausible_email(email):
        raise InvalidInvitation("email", "Enter an email address like name@example.org")
    if not name or len(name) > 200:
        raise InvalidInvitation("name", "Enter their name")
    if role not in {str(r) for r in LINK_ROLES}:
        raise InvalidInvitation("role", "Choose watch coordinator or organisation caseworker")
    if ports.access.link_person("check", None, role, unit) is None:
        raise InvalidInvitation("unit", "Choose a watch for a watch coordinator, an organisation for a caseworker")
    now = ports.clock()
    try:
        account = await ports.store.run(links.invite, email=email, name=name, role=role, principal_id=unit,
                                        by=admin.actor, now=now)
    except links.AlreadyInvited as exc:
        raise InvalidInvitation("email", "That address has an account already") from exc
    await ports.audit.record(AuditAction.COLLECTION, "link_account", admin, at=now,
                             justification=f"invited {account.person} as {role} of {unit}")
    log.info("link_account_invited", person=account.person, role=role, unit=unit, by=admin.actor)
    await _send_link(ports, account)
    return account


async def change_link_account(ports: SignInPorts, admin: Principal, person: str, action: str) -> bool:
    """Disable (ending their sessions and links at once), enable, or send a new link; False if there
    is no such account (or action)."""
    account = await ports.store.run(links.by_person, person)
    if account is None or action not in ("disable", "enable", "send-link"):
        return False
    now = ports.clock()
    if action == "send-link":
        if account.disabled:
            return False
        await _send_link(ports, account)
        return True
    ended = await ports.store.run(staff_store.set_disabled, person, action == "disable", by=admin.actor, now=now)
    if action == "disable":
        await ports.store.run(links.spend_all, person, now=now)
    await ports.audit.record(AuditAction.ALTERATION, "link_account", admin, at=now, justification=f"{action}d {person}")
    log.info("link_account_changed", person=person, action=action, by=admin.actor, sessions_ended=ended)
    return True


# ---- "you said, we did": publications -----------------------------------------------------------------


class PublicationPorts(Protocol):
    """What the publication use cases need: the store, the clock and the known neighbourhoods."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    @property
    def neighbourhoods(self) -> Mapping[str, str]: ...


UK = ZoneInfo("Europe/London")
#: The longest issue or action text: police.uk's neighbourhood priorities are a few sentences.
PUBLICATION_TEXT_MAX = 1000


@dataclass(frozen=True)
class CheckedDraft:
    neighbourhood: str
    issue: str
    issue_date: date
    action: str
    action_date: date


def check_neighbourhood(neighbourhoods: Mapping[str, str], neighbourhood: str) -> str:
    """``neighbourhood`` if it is one of ours; else InvalidField naming it, with the allowed ones."""
    if neighbourhood not in neighbourhoods:
        raise InvalidField("neighbourhood", "unknown neighbourhood", list(neighbourhoods))
    return neighbourhood


def _text(field: str, value: str, place_words: frozenset[str]) -> str:
    text = " ".join(value.split())
    if not text:
        raise InvalidField(field, "enter what to publish")
    if len(text) > PUBLICATION_TEXT_MAX:
        raise InvalidField(field, f"keep it to {PUBLICATION_TEXT_MAX} characters")
    scrubbed = scrub(text, keep_words=place_words)
    if scrubbed.text != text:
        kinds = ", ".join(sorted(k.replace("_", " ") for k in scrubbed.removed))
        raise InvalidField(field, f"take out personal details first ({kinds}): the public must not be able to "
                                  "tell who is meant")
    return text


def _date(field: str, value: str | date, today: date) -> date:
    if isinstance(value, date):
        found = value
    else:
        try:
            found = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidField(field, "enter a date as YYYY-MM-DD") from None
    if found > today:
        raise InvalidField(field, "a date to come: publish what was done, once it was done")
    return found


def check_draft(neighbourhoods: Mapping[str, str], today: date, *, neighbourhood: str, issue: str,
                issue_date: str | date, action: str, action_date: str | date) -> CheckedDraft:
    """A draft's fields as they will be stored, or InvalidField naming the first wrong one: an
    unknown neighbourhood, an empty or overlong text, text with personal details in it (it changes
    under the watches' scrub: names, phone numbers, addresses, registrations...), a date that is
    not one, to come, or an action before its issue. Pure."""
    check_neighbourhood(neighbourhoods, neighbourhood)
    place_words = frozenset(w for name in neighbourhoods.values() for w in name.split() if w[:1].isupper())
    issue = _text("issue", issue, place_words)
    found_issue_date = _date("issue_date", issue_date, today)
    action = _text("action", action, place_words)
    found_action_date = _date("action_date", action_date, today)
    if found_action_date < found_issue_date:
        raise InvalidField("action_date", "the action cannot come before the issue was raised")
    return CheckedDraft(neighbourhood, issue, found_issue_date, action, found_action_date)


def police_uk_priority(row: PublicationRow) -> dict[str, str]:
    """A publication as police.uk publishes a neighbourhood priority (data.police.uk
    ``/{force}/{neighbourhood}/priorities``)."""
    return {"issue": row.issue, "issue-date": f"{row.issue_date.isoformat()}T00:00:00",
            "action": row.action, "action-date": f"{row.action_date.isoformat()}T00:00:00"}


async def draft_publication(ports: PublicationPorts, author: Principal, *, neighbourhood: str, issue: str,
                            issue_date: str | date, action: str, action_date: str | date) -> PublicationRow:
    """A "you said, we did" for a neighbourhood, as a draft: nobody outside sees it until a
    supervisor other than its author approves it."""
    authorise(author, Permission.DRAFT_PUBLICATION)
    now = ports.clock()
    checked = check_draft(ports.neighbourhoods, now.astimezone(UK).date(), neighbourhood=neighbourhood,
                          issue=issue, issue_date=issue_date, action=action, action_date=action_date)
    row = await ports.store.run(publications.draft, neighbourhood=checked.neighbourhood, issue=checked.issue,
                                issue_date=checked.issue_date, action=checked.action,
                                action_date=checked.action_date, drafted_by=author.actor, unit=author.id,
                                unit_name=author.name, author_role=str(author.role), now=now)
    log.info("publication_drafted", publication=row.id, neighbourhood=neighbourhood, unit=author.id)
    return row


async def _publication(ports: PublicationPorts, actor: Principal, publication_id: int) -> PublicationRow:
    row = await ports.store.run(publications.get, publication_id)
    if row is None:
        raise NotFound(f"no publication {publication_id}")
    if not may_act_on(actor, [row.unit]):
        raise Forbidden(f"publication {publication_id} is another unit's")
    return row


def check_approval(row: PublicationRow, approver: Principal) -> None:
    """Four eyes: Forbidden for the draft's own author, Conflict for one not a draft. Pure."""
    if row.state is not PublicationState.DRAFT:
        raise Conflict(f"only a draft can be approved; this one is {row.state.value}")
    if row.drafted_by == approver.actor:
        raise Forbidden("four eyes: someone other than its author must approve it")


async def approve_publication(ports: PublicationPorts, approver: Principal, publication_id: int) -> PublicationRow:
    """Publish a draft: a named supervisor of the author's unit, never the author."""
    authorise(approver, Permission.APPROVE_PUBLICATION)
    check_approval(await _publication(ports, approver, publication_id), approver)
    row = await ports.store.run(publications.approve, publication_id, by=approver.actor, now=ports.clock())
    if row is None:
        raise Conflict("approved or withdrawn meanwhile")
    log.info("publication_approved", publication=publication_id, unit=row.unit)
    return row


async def withdraw_publication(ports: PublicationPorts, actor: Principal, publication_id: int) -> PublicationRow:
    """Take a draft or a publication off (the public pages stop showing it at once)."""
    authorise(actor, Permission.APPROVE_PUBLICATION)
    found = await _publication(ports, actor, publication_id)
    if found.state is PublicationState.WITHDRAWN:
        raise Conflict("withdrawn already")
    row = await ports.store.run(publications.withdraw, publication_id, by=actor.actor, now=ports.clock())
    if row is None:
        raise Conflict("withdrawn already")
    log.info("publication_withdrawn", publication=publication_id, unit=row.unit)
    return row


async def staff_publications(ports: PublicationPorts, principal: Principal
                             ) -> tuple[list[PublicationRow], list[PublicationRow]]:
    """The drafts and the approved publications of ``principal``'s unit (all, for scope "all")."""
    authorise(principal, Permission.DRAFT_PUBLICATION)
    rows = await ports.store.run(publications.listed, (PublicationState.DRAFT, PublicationState.APPROVED))
    mine = [r for r in rows if may_act_on(principal, [r.unit])]
    return ([r for r in mine if r.state is PublicationState.DRAFT],
            [r for r in mine if r.state is PublicationState.APPROVED])


async def approved_publications(ports: PublicationPorts, neighbourhood: str) -> list[PublicationRow]:
    """What anyone may read for a neighbourhood: approved publications only, latest first.
    InvalidField for an unknown neighbourhood."""
    check_neighbourhood(ports.neighbourhoods, neighbourhood)
    return await ports.store.run(publications.approved, neighbourhood)
