"""Who may do what: the one table. Every entry point (API, pages, Open311) asks ``usecases.authorise``
with one of these permissions; a principal's role (a person's from their groups, an API key's from its
kind, ``access.KEY_ROLE``) decides. Which reports a principal may see is the other half: its unit
(``usecases.may_act_on``: reports routed to its team or watch, or any with scope "all")."""

from __future__ import annotations

from services.intake.access import Permission, Principal, Role

__all__ = ["PERSON_ONLY", "TABLE", "Permission", "allowed"]


P = Permission
TABLE: dict[Role, frozenset[Permission]] = {
    Role.TEAM_MEMBER: frozenset({P.VIEW_ITEMS, P.RECORD_ACTION, P.TELL_CLUSTER, P.DRAFT_PUBLICATION}),
    Role.SUPERVISOR: frozenset({P.VIEW_ITEMS, P.RECORD_ACTION, P.TELL_CLUSTER, P.CLOSE_REPORT, P.READ_AUDIT,
                                P.DRAFT_PUBLICATION, P.APPROVE_PUBLICATION}),
    Role.WATCH_COORDINATOR: frozenset({P.VIEW_ITEMS, P.RECORD_ACTION, P.LIST_WATCH_ITEMS}),
    Role.ORGANISATION_CASEWORKER: frozenset({P.SUBMIT_FOR_OTHERS}),
    Role.ADMINISTRATOR: frozenset({P.VIEW_ITEMS, P.READ_AUDIT, P.MANAGE_ACCESS}),
}

#: Only a named person may: a shared or machine key never reads the audit log, manages access, or
#: drafts or approves what the public reads (four eyes needs the author and the approver told apart).
PERSON_ONLY: frozenset[Permission] = frozenset({P.READ_AUDIT, P.MANAGE_ACCESS, P.DRAFT_PUBLICATION,
                                                P.APPROVE_PUBLICATION})


def allowed(principal: Principal, permission: Permission) -> bool:
    """May ``principal`` do this? Its role's row, narrowed by a machine key's scopes if it has any."""
    if permission in PERSON_ONLY and principal.person is None:
        return False
    if principal.scopes is not None and permission not in principal.scopes:
        return False
    return principal.role is not None and permission in TABLE[principal.role]
