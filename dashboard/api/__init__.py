"""The agencies' API (`/api/v1`, JSON) and the plain page for agencies without a system of
their own (`/agency`).

The dashboard's gate lets `/api/` through untouched: every route here authenticates itself with
`@agency_api` (`Authorization: Bearer TOKEN`, tokens from `ioc tokens create --agency CODE`) and
answers 401 without a valid token. An agency sees and acts on its own tasks only; another
agency's task is 404, as if it did not exist. State-changing calls take JSON only (415
otherwise), refuse a foreign `Origin` (403), and are audited with the agency code as actor.
The contract is `openapi.yaml` beside this file, served at `/api/v1/openapi.json`.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import yaml
from flask import Blueprint, g, jsonify, make_response, render_template, request

from ioc.ops import staffing, tasks
from ioc.ops.levels import level_at

from ..auth import audit, store
from ..i18n import lang_or_default, t
from ..runtime import database

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
AGENCY_ROLE = "agency"  # the role recorded in the audit trail for calls made with an agency token
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@cache
def openapi_document() -> dict:
    with open(HERE / "openapi.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def _error(status: int, message: str, **extra):
    response = make_response(jsonify({"error": message, **extra}), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ioc"'
    return response


def _bearer_token() -> str | None:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def blueprint(secret: bytes, extra_origins: frozenset[str] = frozenset()) -> Blueprint:
    bp = Blueprint("agency_api", __name__)

    def agency_api(view):
        """Authenticate (bearer token -> agency) and, for writes, refuse cross-site and non-JSON."""

        @functools.wraps(view)
        def guarded(*args, **kwargs):
            token = _bearer_token()
            if token is None:
                return _error(401, "send Authorization: Bearer <token>")
            with database().pool.connection() as conn:
                agency = store.token_agency(conn, secret, token)
                if agency is None:
                    audit.record(conn, actor="?", role=AGENCY_ROLE, action="api.refused",
                                 target=f"{request.method} {request.path}"[:200], ip=request.remote_addr,
                                 detail="invalid or revoked token")
            if agency is None:
                return _error(401, "invalid or revoked token")
            g.agency = agency
            if request.method not in SAFE_METHODS:
                origin = request.headers.get("Origin")
                if origin is not None and origin != f"{request.scheme}://{request.host}" and origin not in extra_origins:
                    return _refuse(403, f"cross-site request from {origin[:100]}")
                if request.mimetype != "application/json":
                    return _refuse(415, "send JSON (Content-Type: application/json)")
            return view(*args, **kwargs)

        return guarded

    def _refuse(status: int, message: str):
        with database().pool.connection() as conn:
            audit.record(conn, actor=g.agency, role=AGENCY_ROLE, action="refused",
                         target=f"{request.method} {request.path}"[:200], ip=request.remote_addr, detail=message)
        return _error(status, message)

    def _body() -> dict:
        if not request.get_data():
            return {}
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise tasks.TaskError("the body must be a JSON object")
        return body

    def _act(step, task_id: int, *, note: bool):
        try:
            body = _body()
            person = body.get("by")
            if person is not None and not isinstance(person, str):
                raise tasks.TaskError("`by` must be text")
            kwargs = dict(agency=g.agency, actor=g.agency, role=AGENCY_ROLE, person=person, ip=request.remote_addr)
            with database().pool.connection() as conn:
                if note:
                    task = step(conn, task_id, body.get("note"), **kwargs)
                else:
                    task = step(conn, task_id, **kwargs)
        except tasks.TaskError as exc:
            return _error(400, str(exc))
        except tasks.TaskNotFound:
            return _error(404, f"no task {task_id}")
        except tasks.TaskConflict as exc:
            return _error(409, str(exc), task=tasks.as_json(exc.task))
        return jsonify(tasks.as_json(task))

    @bp.get("/api/v1/openapi.json")
    @agency_api
    def openapi():
        return jsonify(openapi_document())

    @bp.get("/api/v1/status")
    @agency_api
    def status():
        now = datetime.now(timezone.utc)
        with database().pool.connection() as conn:
            level = level_at(conn, now)
            mine = tasks.list_tasks(conn, agency=g.agency, open_only=True, limit=1000)
        return jsonify({
            "level": level["level"], "drill": level["drill"],
            "since": level["since"].astimezone(timezone.utc).isoformat() if level["since"] else None,
            "as_of": now.isoformat(), "agency": g.agency,
            "open_tasks": len(mine), "unacknowledged": sum(1 for k in mine if k["status"] == "created")})

    @bp.get("/api/v1/tasks")
    @agency_api
    def list_tasks():
        which = request.args.get("status", "open")
        if which not in ("open", "all"):
            return _error(400, "status must be open or all")
        with database().pool.connection() as conn:
            rows = tasks.list_tasks(conn, agency=g.agency, open_only=which == "open", limit=500)
        return jsonify({"agency": g.agency, "tasks": [tasks.as_json(r) for r in rows]})

    @bp.get("/api/v1/tasks/<int:task_id>")
    @agency_api
    def get_task(task_id: int):
        try:
            with database().pool.connection() as conn:
                task = tasks.get_task(conn, task_id, agency=g.agency)
                history = tasks.events(conn, task_id)
        except tasks.TaskNotFound:
            return _error(404, f"no task {task_id}")
        return jsonify({**tasks.as_json(task), "events": [
            {**e, "time": e["time"].astimezone(timezone.utc).isoformat()} for e in history]})

    @bp.post("/api/v1/tasks/<int:task_id>/ack")
    @agency_api
    def ack(task_id: int):
        return _act(tasks.acknowledge, task_id, note=False)

    @bp.post("/api/v1/tasks/<int:task_id>/progress")
    @agency_api
    def progress(task_id: int):
        return _act(tasks.report_progress, task_id, note=True)

    @bp.post("/api/v1/tasks/<int:task_id>/close")
    @agency_api
    def close(task_id: int):
        return _act(tasks.close_task, task_id, note=True)

    @bp.get("/api/v1/staffing")
    @agency_api
    def staffing_status():
        now = datetime.now(timezone.utc)
        with database().pool.connection() as conn:
            level = level_at(conn, now)
            present = staffing.present_at(conn, now).get(g.agency, [])
        return jsonify({"agency": g.agency, "level": level["level"],
                        "seats": staffing.required_seats(level["level"]).get(g.agency, 0),
                        "present": [{"person": p["person"],
                                     "since": p["checked_in_at"].astimezone(timezone.utc).isoformat()} for p in present]})

    @bp.post("/api/v1/staffing/checkin")
    @agency_api
    def staffing_checkin():
        try:
            person = _person(_body())
            with database().pool.connection() as conn:
                staffing.check_in(conn, g.agency, person, actor=g.agency, role=AGENCY_ROLE, ip=request.remote_addr)
        except (staffing.StaffingError, tasks.TaskError) as exc:
            return _error(409 if "already" in str(exc) else 400, str(exc))
        return staffing_status()

    @bp.post("/api/v1/staffing/checkout")
    @agency_api
    def staffing_checkout():
        try:
            person = _person(_body())
            with database().pool.connection() as conn:
                staffing.check_out(conn, agency=g.agency, person=person, actor=g.agency, role=AGENCY_ROLE,
                                   ip=request.remote_addr)
        except (staffing.StaffingError, tasks.TaskError) as exc:
            return _error(409 if "not checked in" in str(exc) else 400, str(exc))
        return staffing_status()

    def _person(body: dict) -> str:
        person = body.get("person")
        if not isinstance(person, str) or not person.strip():
            raise staffing.StaffingError("`person` (the name of who checks in or out) is required")
        return person

    @bp.get("/agency")
    def agency_page():
        """A plain page: the agency types its token once (kept in sessionStorage by
        assets/agency.js) and works its tasks through the API above. It holds no data itself,
        so it is public; everything it shows comes from the API with the agency's token."""
        lang = lang_or_default(request.args.get("lang"))
        strings = {key.removeprefix("agency.").replace(".", "_"): t(key, lang) for key in AGENCY_STRINGS}
        return render_template("agency.html", t=lambda key, **kw: t(key, lang, **kw), lang=lang, strings=strings)

    return bp


# Strings the agency page's script shows (handed over as a data attribute: no inline script).
AGENCY_STRINGS = (
    "agency.state_created", "agency.state_acknowledged", "agency.state_in_progress", "agency.state_closed",
    "agency.ack", "agency.progress", "agency.close", "agency.note_prompt", "agency.close_prompt",
    "agency.no_tasks", "agency.bad_token", "agency.escalated", "agency.deadline", "agency.error",
    "agency.done", "agency.level", "agency.signed_in_as", "agency.forget",
    "level.normal", "level.level3", "level.level2", "level.level1", "level.drill",
)
