"""The audit trail: who (and in which role) did what, before -> after, when (UTC), from where.

The table is append-only: the application's database role has no UPDATE/DELETE on it and a
trigger refuses both to anyone.
"""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb


def record(conn: psycopg.Connection, *, actor: str, role: str | None, action: str, target: str | None = None,
           before=None, after=None, ip: str | None = None, detail: str | None = None) -> None:
    conn.execute(
        "INSERT INTO audit_log (actor, role, action, target, before, after, ip, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (actor, role, action, target, None if before is None else Jsonb(before),
         None if after is None else Jsonb(after), ip, detail))
