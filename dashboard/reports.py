"""The situation report as pages of the dashboard: `/ops/sitrep` (HTML) and `/ops/sitrep.pdf`,
for a moment (`?as_of=`, default now) in a language (`?lang=`). Signed-in users only (the gate),
read only; wall devices have no use for printing."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, make_response, request

from ioc.ops import sitrep

from . import access
from .auth.web import route_roles
from .i18n import lang_or_default
from .runtime import database
from .snapshot import parse_as_of

REPORT_ROLES = access.VIEWERS - {access.WALL}


def _report():
    lang = lang_or_default(request.args.get("lang"))
    moment = parse_as_of(request.args.get("as_of")) or datetime.now(timezone.utc)
    with database().pool.connection() as conn:
        data = sitrep.build(conn, moment)
    return sitrep.render_html(data, lang), moment


def blueprint() -> Blueprint:
    bp = Blueprint("ops_reports", __name__)

    @bp.get("/ops/sitrep")
    def sitrep_html():
        html, _ = _report()
        response = make_response(html)
        response.mimetype = "text/html"
        return response

    @bp.get("/ops/sitrep.pdf")
    def sitrep_pdf():
        html, moment = _report()
        response = make_response(sitrep.render_pdf(html))
        response.mimetype = "application/pdf"
        stamp = moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%MZ")
        response.headers["Content-Disposition"] = f'inline; filename="sitrep-{stamp}.pdf"'
        response.headers["Cache-Control"] = "no-store"
        return response

    route_roles("ops_reports.sitrep_html", REPORT_ROLES)
    route_roles("ops_reports.sitrep_pdf", REPORT_ROLES)
    return bp
