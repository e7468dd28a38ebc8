"""Who may use what: roles, and callbacks that declare theirs.

Deny by default: every Dash callback is registered through `callback(...)` with the roles that
may call it, and the app refuses to start if any callback lacks a declaration. A callback that
changes anything (`changes_state=True`) checks the caller's role again inside itself, on the
server, from the signed-in session (never from anything the browser sends).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dash

LEADERSHIP = "leadership"  # read only
DUTY_OFFICER = "duty_officer"
COORDINATOR = "coordinator"  # emergency coordinator: levels, dispatch
KPI_STAFF = "kpi_staff"
ADMIN = "admin"
WALL = "wall"  # a wall screen's device session: read only

ROLES = (LEADERSHIP, DUTY_OFFICER, COORDINATOR, KPI_STAFF, ADMIN, WALL)
VIEWERS = frozenset(ROLES)  # everyone signed in may look


class Forbidden(Exception):
    """The signed-in user's role may not do this."""


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    changes_state: bool


# The function handed to dash.callback -> its declaration.
DECLARED: dict = {}


def current_role() -> str | None:
    """The role of the signed-in user of this request, from the server-side session."""
    from flask import g

    user = getattr(g, "user", None)
    return user.role if user is not None else None


def require(roles) -> None:
    role = current_role()
    if role not in roles:
        raise Forbidden(f"role {role!r} may not do this")


def callback(*args, roles, changes_state: bool = False, **kwargs):
    """`dash.callback` with the roles that may call it declared (and enforced)."""
    roles = frozenset(roles)
    unknown = roles - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def register(func):
        if changes_state:
            @functools.wraps(func)
            def guarded(*a, **kw):
                require(roles)  # again here: the route check alone is not the last word
                return func(*a, **kw)
            target = guarded
        else:
            target = func
        DECLARED[target] = Access(roles, changes_state)
        return dash.callback(*args, **kwargs)(target)

    return register


def register_page(module: str, *, path: str, roles, layout, **kwargs) -> None:
    """`dash.register_page` with the roles that may see the page. The layout checks the role
    itself too, because Dash's page router can be asked for any path's layout."""
    roles = frozenset(roles)

    @functools.wraps(layout)
    def guarded(**query):
        if current_role() not in roles:
            from dash import html

            from .i18n import t

            return html.Div(t("access.denied", query.get("lang")), className="access-denied")
        return layout(**query)

    dash.register_page(module, path=path, layout=guarded, ioc_roles=roles, **kwargs)


def access_of(callback_entry: dict) -> Access | None:
    """The declaration behind an entry of `app.callback_map`, if it has one."""
    func = callback_entry.get("callback")
    while func is not None:
        if func in DECLARED:
            return DECLARED[func]
        func = getattr(func, "__wrapped__", None)
    return None
