""""You said, we did" publications: what a draft may say (each refusal names its field), four eyes
(a supervisor approves, never the author, and never a shared key), and the states a publication
goes through (draft, approved, withdrawn)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from services.common.config_files import load_neighbourhoods
from services.common.sql import Store
from services.intake import usecases
from services.intake.access import Permission, Principal, PrincipalKind, Role
from services.intake.permissions import allowed
from services.store.db import make_engine, make_sessions, migrate
from services.store.models import PublicationState

T = TypeVar("T")
NEIGHBOURHOODS = load_neighbourhoods()
TODAY = date(2026, 11, 20)
GOOD = {"neighbourhood": "kempston-north", "issue": "Cars speeding on Bedford Road near the school",
        "issue_date": "2026-10-01", "action": "Speed checks on three mornings; 14 drivers warned",
        "action_date": "2026-10-20"}

TEAM = dict(id="kempston-npt", kind=PrincipalKind.TEAM, name="Kempston neighbourhood team")
TARA = Principal(**TEAM, role=Role.TEAM_MEMBER, person="tara", person_name="Tara")
SAM = Principal(**TEAM, role=Role.SUPERVISOR, person="sam", person_name="Sam")
SUE = Principal(**TEAM, role=Role.SUPERVISOR, person="sue", person_name="Sue")
TEAM_KEY = Principal(**TEAM)
OTHER_SUPERVISOR = Principal("bedford-east-npt", PrincipalKind.TEAM, "Bedford East neighbourhood team",
                             role=Role.SUPERVISOR, person="olu")
WATCH = Principal("kempston-speed-watch", PrincipalKind.WATCH, "Kempston Speed Watch",
                  role=Role.WATCH_COORDINATOR, person="wendy")


def field_of(**changes: Any) -> str:
    with pytest.raises(usecases.InvalidField) as refused:
        usecases.check_draft(NEIGHBOURHOODS, TODAY, **(GOOD | changes))
    return refused.value.field


def test_a_good_draft_is_kept_as_written() -> None:
    checked = usecases.check_draft(NEIGHBOURHOODS, TODAY, **GOOD)
    assert checked.issue == GOOD["issue"] and checked.action == GOOD["action"]
    assert (checked.issue_date, checked.action_date) == (date(2026, 10, 1), date(2026, 10, 20))


def test_each_refusal_names_its_field() -> None:
    assert field_of(neighbourhood="atlantis") == "neighbourhood"
    assert field_of(issue="  ") == "issue"
    assert field_of(action="x" * 1001) == "action"
    assert field_of(issue_date="1 October") == "issue_date"
    assert field_of(action_date="2026-11-21") == "action_date"  # a date to come
    assert field_of(action_date="2026-09-30") == "action_date"  # before the issue was raised


def test_an_unknown_neighbourhood_lists_the_known_ones() -> None:
    with pytest.raises(usecases.InvalidField) as refused:
        usecases.check_draft(NEIGHBOURHOODS, TODAY, **(GOOD | {"neighbourhood": "atlantis"}))
    assert "kempston-north" in refused.value.allowed


@pytest.mark.parametrize(("field", "text"), [
    ("issue", "Jo Bloggs at 12 Bedford Road says cars speed"),
    ("action", "We spoke to Mr Smith about it"),
    ("action", "Call 07700 900123 for updates"),
    ("action", "Stopped the car AB12 CDE twice"),
    ("issue", "Parking outside MK42 8AA"),
    ("action", "Email jo@example.org"),
])
def test_a_draft_with_personal_details_is_refused_naming_the_field(field: str, text: str) -> None:
    with pytest.raises(usecases.InvalidField) as refused:
        usecases.check_draft(NEIGHBOURHOODS, TODAY, **(GOOD | {field: text}))
    assert refused.value.field == field
    assert "personal details" in refused.value.message


def test_place_names_are_not_taken_for_people() -> None:
    usecases.check_draft(NEIGHBOURHOODS, TODAY, **(GOOD | {
        "issue": "Parking on pavements in Cauldwell and Elstow and in Kingsbrook"}))


def test_the_police_uk_shape() -> None:
    row = usecases.CheckedDraft("kempston-north", "Speeding", date(2026, 10, 1), "Checks", date(2026, 10, 20))
    shaped = usecases.police_uk_priority(row)
    assert shaped == {"issue": "Speeding", "issue-date": "2026-10-01T00:00:00", "action": "Checks",
                      "action-date": "2026-10-20T00:00:00"}


def test_who_may_draft_and_approve() -> None:
    assert allowed(TARA, Permission.DRAFT_PUBLICATION) and not allowed(TARA, Permission.APPROVE_PUBLICATION)
    assert allowed(SAM, Permission.DRAFT_PUBLICATION) and allowed(SAM, Permission.APPROVE_PUBLICATION)
    assert not allowed(TEAM_KEY, Permission.APPROVE_PUBLICATION), "a shared key is nobody in particular"
    assert not allowed(TEAM_KEY, Permission.DRAFT_PUBLICATION), "so its draft would have no author to tell apart"
    assert not allowed(WATCH, Permission.DRAFT_PUBLICATION)


# ---- the use cases over a store --------------------------------------------------------------------


@dataclass
class Ports:
    store: Store
    neighbourhoods: Mapping[str, str]
    clock: Callable[[], datetime] = lambda: datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def ports(tmp_path: Path) -> Ports:
    url = f"sqlite:///{tmp_path}/store.db"
    migrate(url)
    return Ports(Store(make_sessions(make_engine(url))), NEIGHBOURHOODS)


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


def drafted(ports: Ports, author: Principal = TARA) -> int:
    return run(usecases.draft_publication(ports, author, **GOOD)).id


def public(ports: Ports) -> list[dict[str, str]]:
    return [usecases.police_uk_priority(r) for r in run(usecases.approved_publications(ports, "kempston-north"))]


def test_a_draft_is_not_public_until_another_person_approves_it(ports: Ports) -> None:
    draft = run(usecases.draft_publication(ports, TARA, **GOOD))
    assert draft.state is PublicationState.DRAFT
    assert draft.drafted_by == "person:tara" and draft.author_role == "team_member"
    assert draft.drafted_at == ports.clock()
    assert public(ports) == []
    approved = run(usecases.approve_publication(ports, SAM, draft.id))
    assert approved.state is PublicationState.APPROVED
    assert (approved.approved_by, approved.approved_at) == ("person:sam", ports.clock())
    assert public(ports) == [{"issue": GOOD["issue"], "issue-date": "2026-10-01T00:00:00",
                              "action": GOOD["action"], "action-date": "2026-10-20T00:00:00"}]


def test_four_eyes_the_author_never_approves(ports: Ports) -> None:
    mine = drafted(ports, SAM)
    with pytest.raises(usecases.Forbidden, match="four eyes"):
        run(usecases.approve_publication(ports, SAM, mine))
    run(usecases.approve_publication(ports, SUE, mine))
    assert len(public(ports)) == 1


def test_only_a_named_supervisor_of_the_unit_approves(ports: Ports) -> None:
    draft = drafted(ports)
    for who in (TARA, TEAM_KEY, WATCH, OTHER_SUPERVISOR):
        with pytest.raises(usecases.Forbidden):
            run(usecases.approve_publication(ports, who, draft))
    with pytest.raises(usecases.Unauthenticated):
        run(usecases.approve_publication(ports, None, draft))
    with pytest.raises(usecases.NotFound):
        run(usecases.approve_publication(ports, SAM, draft + 100))
    assert public(ports) == []


def test_states_withdrawn_is_final_and_only_a_draft_is_approved(ports: Ports) -> None:
    first, second = drafted(ports), drafted(ports)
    run(usecases.approve_publication(ports, SAM, first))
    with pytest.raises(usecases.Conflict):
        run(usecases.approve_publication(ports, SUE, first))  # approved already
    withdrawn = run(usecases.withdraw_publication(ports, SAM, first))
    assert withdrawn.state is PublicationState.WITHDRAWN and withdrawn.withdrawn_by == "person:sam"
    assert public(ports) == []
    with pytest.raises(usecases.Conflict):
        run(usecases.withdraw_publication(ports, SAM, first))
    with pytest.raises(usecases.Conflict):
        run(usecases.approve_publication(ports, SAM, first))
    run(usecases.withdraw_publication(ports, SAM, second))  # a draft may be withdrawn too
    with pytest.raises(usecases.Conflict):
        run(usecases.approve_publication(ports, SAM, second))
    with pytest.raises(usecases.Forbidden):
        run(usecases.withdraw_publication(ports, TARA, drafted(ports)))  # team members draft only


def test_drafting_is_for_police_teams_and_checks_the_words(ports: Ports) -> None:
    for who in (WATCH, TEAM_KEY):
        with pytest.raises(usecases.Forbidden):
            run(usecases.draft_publication(ports, who, **GOOD))
    with pytest.raises(usecases.InvalidField) as refused:
        run(usecases.draft_publication(ports, TARA, **(GOOD | {"action": "Arrested Dave Smith"})))
    assert refused.value.field == "action"
    with pytest.raises(usecases.InvalidField) as unknown:
        run(usecases.approved_publications(ports, "atlantis"))
    assert unknown.value.field == "neighbourhood"


def test_staff_see_their_units_drafts_and_publications(ports: Ports) -> None:
    first, second = drafted(ports), drafted(ports)
    run(usecases.approve_publication(ports, SAM, first))
    drafts, published = run(usecases.staff_publications(ports, TARA))
    assert [d.id for d in drafts] == [second] and [p.id for p in published] == [first]
    assert run(usecases.staff_publications(ports, OTHER_SUPERVISOR)) == ([], [])
