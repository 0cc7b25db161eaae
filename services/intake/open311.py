"""Open311 GeoReport v2, so FixMyStreet and other clients can send reports and read their status.

- ``GET /open311/v2/services.{json|xml}``: the categories the public sees, as services;
- ``GET /open311/v2/services/{code}.{json|xml}``: a service definition (no extra attributes);
- ``POST /open311/v2/requests.{json|xml}``: a report, with the ``api_key`` of an organisation: it
  becomes the same ``ThirdPartyContact`` as ``POST /v1/third-party/reports`` (the same use case
  does the work), the citizen named in the request being the reporter who hears back;
- ``GET /open311/v2/requests.{json|xml}``, ``GET /open311/v2/requests/{id}.{json|xml}``: status.

Where this departs from the specification, on purpose: reading requests needs the ``api_key``
too and shows only the requests that key's organisation sent, since police reports are not
public. Statuses are ``open`` or ``closed``; with ``extended_statuses=true`` they are mySociety's
richer ones where they fit honestly (``in_progress`` once something was done, ``fixed`` for
resolved, ``internal_referral`` for passed to a partner, ``no_further_action``).
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from schemas.events import REFERENCE_PATTERN
from services.audit import AuditAction
from services.common.config_files import Categories
from services.common.logging import get_logger
from services.intake import pages_store, usecases
from services.intake.access import Principal
from services.intake.auth import context_of as _ctx
from services.intake.context import Context
from services.intake.guards import CLIENT
from services.intake.permissions import Permission
from services.intake.publisher import PublishFailed
from services.intake.reports import ThirdPartyReportRequest
from services.store.paging import Cursor

log = get_logger(__name__)
#: Every answer, errors included (a list of ``{code, description}``), is JSON or XML as the path's format says.
_EITHER: dict[str, Any] = {"content": {"application/json": {}, "text/xml": {}}}
router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"], responses={
    200: {"description": "The document, as JSON or XML", **_EITHER},
    **{code: {"description": words, **_EITHER} for code, words in (
        (400, "Open311 error: a parameter or field is wrong, and which"),
        (403, "Open311 error: a valid api_key of an organisation is required"),
        (404, "Open311 error: no such format, service or request"),
        (503, "Open311 error: nothing was recorded; try again"))}})

_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][0-9A-Z]?\s*[0-9][A-Z]{2})\b", re.IGNORECASE)
#: Our outcomes as mySociety's extended statuses.
EXTENDED = {"resolved": "fixed", "action_taken": "closed", "passed_to_partner": "internal_referral",
            "no_further_action": "no_further_action"}
#: Every status a request can have, plain or extended: what ``status=`` may ask for.
STATUSES = frozenset({"open", "closed", "in_progress", *EXTENDED.values()})
_REFERENCE = re.compile(REFERENCE_PATTERN)


class Open311Error(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# ---- parameters: each bad one is a 400 naming it ------------------------------------------------


def number(name: str, value: str | None) -> float | None:
    """A coordinate parameter (``lat``, ``long``) as a number; None if absent."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number, like 52.125") from None
    if not math.isfinite(parsed):
        raise Open311Error(400, f"{name} must be a number, like 52.125")
    return parsed


def w3c_date(name: str, value: str | None) -> datetime | None:
    """A ``start_date``/``end_date`` parameter (W3C date and time, e.g. 2026-03-01T00:00:00Z), as
    an aware UTC datetime; None if absent. A date without a zone is read as UTC."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or one whose zone takes it past year 1 or 9999
        raise Open311Error(400, f"{name} must be a date and time, like 2026-03-01T00:00:00Z") from None


def request_ids(value: str | None) -> list[str] | None:
    """``service_request_id``: a comma-separated list of our references; None if absent."""
    ids = [i.strip() for i in (value or "").split(",") if i.strip()]
    if any(not _REFERENCE.match(i) for i in ids):
        raise Open311Error(400, "service_request_id must be references like MECC-7K3Q-9XJD, separated by commas")
    return ids or None


def statuses(value: str | None) -> set[str] | None:
    """``status``: a comma-separated list of statuses; None if absent."""
    wanted = {s.strip() for s in (value or "").split(",") if s.strip()}
    if wanted - STATUSES:
        raise Open311Error(400, "status must be one or more of " + ", ".join(sorted(STATUSES)))
    return wanted or None


# ---- pure: documents and their encodings ----------------------------------------------------------


def services_doc(categories: Categories) -> list[dict[str, Any]]:
    return [{"service_code": cid, "service_name": c.label, "description": c.description, "metadata": False,
             "type": "realtime", "keywords": "sensitive" if c.sensitive else "", "group": "Police"}
            for cid, c in categories.categories.items()]


def service_definition(code: str) -> dict[str, Any]:
    return {"service_code": code, "attributes": []}


def _w3c(at: Any) -> str | None:
    if at is None:
        return None
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return str(when.astimezone(UTC).isoformat(timespec="seconds"))


def status_of(row: Mapping[str, Any], *, extended: bool) -> tuple[str, str | None]:
    """(status, status_notes) of a stored report: honest, from what was recorded."""
    actions = row.get("actions") or []
    closure = next((a for a in reversed(actions) if a["kind"] == "closure"), None)
    latest = actions[-1] if actions else None
    notes = None
    if latest is not None:
        notes = latest["public_text"] + (f" Reason: {latest['outcome_reason']}" if latest.get("outcome_reason") else "")
    if row["status"] == "closed" or closure is not None:
        outcome = closure.get("outcome") if closure else None
        return (EXTENDED.get(outcome or "", "closed") if extended else "closed"), notes
    if extended and actions:
        return "in_progress", notes
    return "open", notes


def request_doc(row: Mapping[str, Any], categories: Categories, *, extended: bool) -> dict[str, Any]:
    report = row["contact"]["report"]
    location = report.get("location") or {}
    category = categories.categories.get(report["category"])
    status, notes = status_of(row, extended=extended)
    actions = row.get("actions") or []
    updated = actions[-1]["recorded_at"] if actions else row["received_at"]
    agencies = [d["name"] for d in row.get("destinations") or [] if d.get("kind") == "team"]
    return {
        "service_request_id": row["reference"],
        "status": status,
        "status_notes": notes,
        "service_name": category.label if category else report["category"],
        "service_code": report["category"],
        "description": report["description"],
        "agency_responsible": ", ".join(agencies) or None,
        "service_notice": None,
        "requested_datetime": _w3c(row["received_at"]),
        "updated_datetime": _w3c(updated),
        "expected_datetime": None,
        "address": location.get("description"),
        "address_id": None,
        "zipcode": location.get("postcode"),
        "lat": location.get("latitude"),
        "long": location.get("longitude"),
        "media_url": None,
    }


def _xml(root: str, item: str, docs: Sequence[Mapping[str, Any]]) -> bytes:
    top = ET.Element(root)
    for doc in docs:
        el = ET.SubElement(top, item)
        for key, value in doc.items():
            child = ET.SubElement(el, key)
            if isinstance(value, list):  # attributes of a service definition: none here
                continue
            if value is None:
                continue
            child.text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode").encode()


def encode(fmt: str, root: str, item: str, docs: Sequence[Mapping[str, Any]] | Mapping[str, Any],
           status_code: int = 200) -> Response:
    if fmt == "xml":
        listed = [docs] if isinstance(docs, Mapping) else list(docs)
        if isinstance(docs, Mapping) and "attributes" in docs:
            top = ET.Element("service_definition")
            ET.SubElement(top, "service_code").text = str(docs["service_code"])
            ET.SubElement(top, "attributes")
            body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode").encode()
        else:
            body = _xml(root, item, listed)
        return Response(body, status_code=status_code, media_type="text/xml; charset=utf-8")
    return Response(json.dumps(docs), status_code=status_code, media_type="application/json")


def error(fmt: str, code: int, description: str) -> Response:
    return encode(fmt, "errors", "error", [{"code": code, "description": description}], status_code=code)


def request_from_form(form: Mapping[str, str]) -> ThirdPartyReportRequest:
    """A GeoReport POST as the API's ``ThirdPartyReportRequest``; Open311Error(400) names what is wrong."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    lat, lon = number("lat", form.get("lat")), number("long", form.get("long"))
    address = (form.get("address_string") or "").strip() or None
    if (lat is None or lon is None) and not address and not (form.get("address_id") or "").strip():
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    postcode = _POSTCODE.search(address or "")
    name = " ".join(p for p in ((form.get("first_name") or "").strip(), (form.get("last_name") or "").strip()) if p)
    email = (form.get("email") or "").strip() or None
    phone = (form.get("phone") or "").strip() or None
    if not email and not phone:
        raise Open311Error(400, "email or phone is required, so the person who reported it hears what was done")
    body = {
        "category": code,
        "description": (form.get("description") or "").strip(),
        "location": {
            "latitude": lat, "longitude": lon,
            "postcode": postcode.group(1).upper() if postcode else None,
            "description": (address or (form.get("address_id") or "").strip() or None),
        },
        "reporter": {"name": name or None, "email": email, "phone": phone,
                     "preferences": {"channel": "email" if email else "sms"}},
    }
    try:
        return ThirdPartyReportRequest.model_validate(body)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "request" for e in exc.errors()})
        names = {"category": "service_code", "description": "description", "location": "location",
                 "location.latitude": "lat", "location.longitude": "long", "reporter.email": "email",
                 "reporter.phone": "phone", "reporter.name": "first_name/last_name"}
        raise Open311Error(400, "invalid: " + ", ".join(names.get(f, f) for f in fields)) from exc


# ---- routes ----------------------------------------------------------------------------------------

ApiKeyParam = Annotated[str | None, Query(description="An organisation's API key.")]
Text = Annotated[str | None, Query()]
# Formats and ids as the document describes them; the routes check them themselves (json_schema_extra
# is not enforced by FastAPI), so that a wrong one gets Open311's own 404 rather than a 422.
Format = Annotated[str, Path(json_schema_extra={"enum": ["json", "xml"]})]
CodeFormat = Annotated[str, Path(json_schema_extra={"pattern": r"^[a-z][a-z0-9-]{1,39}\.(json|xml)$"})]
IdFormat = Annotated[str, Path(json_schema_extra={"pattern": REFERENCE_PATTERN.rstrip("$") + r"\.(json|xml)$"})]


def _format(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, "format must be json or xml")
    return fmt


def _organisation(ctx: Context, key: str | None) -> Principal:
    client = CLIENT.get() or "unknown"
    if key and ctx.sign_ins.wait(client) > 0:
        raise Open311Error(429, "too many failed sign-ins; try again later")
    principal = ctx.access.authenticate(key, today=ctx.clock().date())
    if key and principal is None:
        ctx.sign_ins.failed(client)  # a wrong api_key counts as a failed sign-in, as on the API and pages
    try:
        return usecases.authorise(principal, Permission.SUBMIT_FOR_OTHERS)
    except usecases.IntakeError as exc:
        raise Open311Error(403, "a valid api_key of an organisation is required") from exc


def _split(path: str) -> tuple[str, str]:
    name, _, fmt = path.rpartition(".")
    if not name:
        raise Open311Error(404, "add .json or .xml")
    return name, _format(fmt)


async def _guard(fmt: str, call: Any) -> Response:
    try:
        result: Response = await call()
        return result
    except Open311Error as exc:
        return error(fmt, exc.code, exc.description)


@router.get("/discovery.{fmt}", summary="Open311 discovery")
async def discovery(request: Request, fmt: Format) -> Response:
    base = _ctx(request).settings.public_base_url.rstrip("/")
    doc = {"changeset": "2026-01-01T00:00:00Z", "contact": "Force contact centre",
           "key_service": "Ask the force for an organisation api_key",
           "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": f"{base}/open311/v2",
                          "changeset": "2026-01-01T00:00:00Z", "type": "production",
                          "formats": ["application/json", "text/xml"]}]}
    if fmt != "json":
        return error("xml" if fmt == "xml" else "json", 404, "discovery is available as JSON")
    return Response(json.dumps(doc), media_type="application/json")


@router.get("/services.{fmt}", summary="List services (categories)")
async def list_services(request: Request, fmt: Format) -> Response:
    safe = fmt if fmt in ("json", "xml") else "json"

    async def run() -> Response:
        return encode(_format(fmt), "services", "service", services_doc(_ctx(request).categories))

    return await _guard(safe, run)


@router.get("/services/{code_fmt}", summary="A service definition")
async def get_service(request: Request, code_fmt: CodeFormat) -> Response:
    safe = code_fmt.rpartition(".")[2] if code_fmt.rpartition(".")[2] in ("json", "xml") else "json"

    async def run() -> Response:
        code, fmt = _split(code_fmt)
        if code not in _ctx(request).categories.categories:
            raise Open311Error(404, f"no service {code}")
        return encode(fmt, "service_definition", "service_definition", service_definition(code))

    return await _guard(safe, run)


#: The GeoReport POST's fields, documented for clients (and for schemathesis); the route reads the
#: form itself so that a bad one gets Open311's own 400, not the JSON API's 422.
_POST_FIELDS = ("api_key", "service_code", "lat", "long", "address_string", "address_id", "email", "phone",
                "first_name", "last_name", "description", "device_id", "account_id", "media_url")
_POST_BODY = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["service_code"],
    "properties": {name: {"type": "string"} for name in _POST_FIELDS}}}}}}

async def _read_form(request: Request) -> dict[str, str]:
    try:
        form = await request.form()
    except HTTPException as exc:  # a multipart body the parser cannot read
        raise Open311Error(400, "the body must be a form (application/x-www-form-urlencoded)") from exc
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/requests.{fmt}", summary="Create a service request (organisations, api_key)",
             openapi_extra=_POST_BODY)
async def create_request(request: Request, fmt: Format, api_key: ApiKeyParam = None) -> Response:
    safe = fmt if fmt in ("json", "xml") else "json"
    ctx = _ctx(request)

    async def run() -> Response:
        _format(fmt)
        form = await _read_form(request)
        organisation = _organisation(ctx, form.get("api_key") or api_key)
        body = request_from_form(form)
        try:
            # The third-party API's own use case: the same checks, event and publisher.
            accepted = await usecases.submit_third_party_report(
                ctx, organisation, body, request.headers.get("Idempotency-Key"), via="open311")
        except usecases.IdempotencyKeyReused as exc:
            raise Open311Error(422, f"Idempotency-Key: {exc}") from exc
        except usecases.UnknownCategory as exc:
            raise Open311Error(400, "invalid request: unknown service_code") from exc
        except PublishFailed as exc:
            raise Open311Error(503, "we could not accept this right now; nothing was recorded") from exc
        log.info("open311_request_created", reference=accepted.reference)
        return encode(fmt, "service_requests", "request",
                      [{"service_request_id": accepted.reference, "service_notice": accepted.message,
                        "account_id": None}])

    return await _guard(safe, run)


#: How many requests ``GET requests`` answers with unless ``page_size`` says otherwise, and at most.
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_CLOSED = STATUSES - {"open", "in_progress"}


def page_size(value: str | None) -> int:
    """``page_size``: how many requests one page holds (1 to 1000, 100 if absent)."""
    if not (value or "").strip():
        return PAGE_SIZE
    if not (value or "").strip().isdigit() or not 1 <= int(value or "0") <= MAX_PAGE_SIZE:
        raise Open311Error(400, f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(value or "0")


def _stored_status(wanted: set[str] | None) -> str | None:
    """The stored status every wanted status implies (open or closed), None if they span both."""
    if not wanted:
        return None
    if wanted <= {"open", "in_progress"}:
        return "open"
    return "closed" if wanted <= _CLOSED else None


@router.get("/requests.{fmt}", summary="Service requests this organisation sent (api_key), a page at a time",
            description="Newest first. `start_date` and `end_date` (W3C date-times) bound when they were "
            "requested; `page_size` (1-1000, default 100) is how many a page holds; when there are more, the "
            "response's `Link` header names the next page (`rel=\"next\"`, with an opaque `page` "
            "parameter) until none is given. A page filtered by an extended status may hold fewer.")
async def list_requests(
    request: Request, fmt: Format, api_key: ApiKeyParam = None, service_request_id: Text = None,
    service_code: Text = None, status: Text = None, start_date: Text = None, end_date: Text = None,
    extended_statuses: Text = None, lat: Text = None, long: Text = None,
    page_size_: Annotated[str | None, Query(alias="page_size", max_length=10,
                                            description="How many requests a page holds: 1 to 1000 (100).")] = None,
    page: Annotated[str | None, Query(max_length=200, description="Opaque: the next page, from the "
                                      "previous answer's `Link` header.")] = None,
) -> Response:
    safe = fmt if fmt in ("json", "xml") else "json"
    ctx = _ctx(request)

    async def run() -> Response:
        _format(fmt)
        organisation = _organisation(ctx, api_key)
        org = organisation.id
        ids = request_ids(service_request_id)
        wanted = statuses(status)
        start, end = w3c_date("start_date", start_date), w3c_date("end_date", end_date)
        size = page_size(page_size_)
        try:
            cursor = Cursor.parse(page)
        except ValueError:
            raise Open311Error(400, "page must be the one a previous answer's Link header gave") from None
        # Not filters here, but a client that sends them hears when they are not numbers rather
        # than having them silently ignored.
        number("lat", lat)
        number("long", long)
        codes = tuple(c for c in (service_code or "").split(",") if c) or None
        found = await ctx.store.run(pages_store.organisation_reports, org, ids, size, cursor, pages_store.Filters(
            status=_stored_status(wanted), category=codes, since=start, until=end))
        extended = (extended_statuses or "").lower() == "true"
        docs = [request_doc(r, ctx.categories, extended=extended) for r in found.rows]
        if wanted:
            docs = [d for d in docs if d["status"] in wanted]
        for doc in docs:
            await ctx.audit.record(AuditAction.CONSULTATION, "open311_request", organisation,
                                   reference=doc["service_request_id"], at=ctx.clock())
        response = encode(fmt, "service_requests", "request", docs)
        if found.next:
            following = request.url.include_query_params(page=found.next)
            response.headers["Link"] = f'<{following}>; rel="next"'
        return response

    return await _guard(safe, run)


@router.get("/requests/{id_fmt}", summary="One service request this organisation sent (api_key)")
async def get_request(request: Request, id_fmt: IdFormat, api_key: ApiKeyParam = None,
                      extended_statuses: Text = None) -> Response:
    safe = id_fmt.rpartition(".")[2] if id_fmt.rpartition(".")[2] in ("json", "xml") else "json"
    ctx = _ctx(request)

    async def run() -> Response:
        reference, fmt = _split(id_fmt)
        organisation = _organisation(ctx, api_key)
        rows = ((await ctx.store.run(pages_store.organisation_reports, organisation.id, [reference], 1)).rows
                if _REFERENCE.match(reference) else [])
        if not rows:
            raise Open311Error(404, f"no service request {reference} from this organisation (yet)")
        extended = (extended_statuses or "").lower() == "true"
        await ctx.audit.record(AuditAction.CONSULTATION, "open311_request", organisation, reference=reference,
                               at=ctx.clock())
        return encode(fmt, "service_requests", "request", [request_doc(rows[0], ctx.categories, extended=extended)])

    return await _guard(safe, run)
