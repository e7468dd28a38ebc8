"""Users, sessions, sign-in failures and agency tokens in the database.

Functions take a psycopg connection, so the dashboard (from its pool) and the CLI share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg.rows import dict_row

from .. import access
from . import audit
from .passwords import check_strength, hash_password, verify
from .tokens import new_token, token_hash

USER_SESSION = timedelta(hours=12)
DEVICE_SESSION = timedelta(days=365)
LOCK_AFTER = 5  # failed sign-ins for one account ...
LOCK_WINDOW = timedelta(minutes=15)  # ... within this window lock it for LOCK_FOR
LOCK_FOR = timedelta(minutes=15)
IP_LIMIT = 30  # failed sign-ins from one address within LOCK_WINDOW before it is refused


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    session_kind: str = "user"
    csrf_token: str = ""
    token_hash: str = ""


class UserError(ValueError):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- users ----------------------------------------------------------------------------------------
def add_user(conn: psycopg.Connection, name: str, role: str, password: str, *, actor: str) -> int:
    if role not in access.ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(access.ROLES)}")
    check_strength(password)
    with conn.transaction():
        row = conn.execute("SELECT id, role FROM app_user WHERE name = %s", (name,)).fetchone()
        if row:
            raise UserError(f"user {name!r} exists")
        user_id = conn.execute(
            "INSERT INTO app_user (name, role, password_hash) VALUES (%s, %s, %s) RETURNING id",
            (name, role, hash_password(password))).fetchone()[0]
        audit.record(conn, actor=actor, role=None, action="user.add", target=name, after={"role": role})
    return user_id


def set_password(conn: psycopg.Connection, name: str, password: str, *, actor: str) -> None:
    check_strength(password)
    with conn.transaction():
        updated = conn.execute("UPDATE app_user SET password_hash = %s, locked_until = NULL WHERE name = %s",
                               (hash_password(password), name)).rowcount
        if not updated:
            raise UserError(f"no user {name!r}")
        conn.execute("UPDATE app_session SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = "
                     "(SELECT id FROM app_user WHERE name = %s)", (name,))
        audit.record(conn, actor=actor, role=None, action="user.password", target=name)


def disable_user(conn: psycopg.Connection, name: str, *, actor: str) -> None:
    with conn.transaction():
        updated = conn.execute("UPDATE app_user SET disabled_at = now() WHERE name = %s AND disabled_at IS NULL",
                               (name,)).rowcount
        if not updated:
            raise UserError(f"no active user {name!r}")
        revoked = conn.execute("UPDATE app_session SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = "
                               "(SELECT id FROM app_user WHERE name = %s)", (name,)).rowcount
        audit.record(conn, actor=actor, role=None, action="user.disable", target=name,
                     after={"sessions_revoked": revoked})


def list_users(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT name, role, created_at, disabled_at, locked_until FROM app_user "
                           "ORDER BY name").fetchall()


def revoke_sessions(conn: psycopg.Connection, name: str, *, actor: str) -> int:
    with conn.transaction():
        n = conn.execute("UPDATE app_session SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = "
                         "(SELECT id FROM app_user WHERE name = %s)", (name,)).rowcount
        audit.record(conn, actor=actor, role=None, action="session.revoke", target=name, after={"revoked": n})
    return n


# -- sign-in --------------------------------------------------------------------------------------
class SignInRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # bad_credentials | locked | rate_limited


def sign_in(conn: psycopg.Connection, secret: bytes, name: str, password: str, *, ip: str | None,
            user_agent: str | None) -> tuple[User, str]:
    """Check the password and open a new session (a new id every time: no fixation).
    Returns the user and the session token for the cookie."""
    now = _now()
    recent_ip = conn.execute("SELECT count(*) FROM auth_failure WHERE ip = %s AND time > %s",
                             (ip, now - LOCK_WINDOW)).fetchone()[0]
    if recent_ip >= IP_LIMIT:
        audit.record(conn, actor=name[:64] or "?", role=None, action="signin.refused", ip=ip, detail="rate_limited")
        raise SignInRefused("rate_limited")
    row = conn.execute("SELECT id, name, role, password_hash, disabled_at, locked_until FROM app_user "
                       "WHERE name = %s", (name,)).fetchone()
    if row and row[5] and row[5] > now:
        audit.record(conn, actor=name, role=row[2], action="signin.refused", ip=ip, detail="locked")
        raise SignInRefused("locked")
    ok = verify(row[3] if row else None, password)
    if not ok or row is None or row[4] is not None:
        with conn.transaction():
            conn.execute("INSERT INTO auth_failure (name, ip) VALUES (%s, %s)", (name[:64], ip))
            if row is not None:
                fails = conn.execute("SELECT count(*) FROM auth_failure WHERE name = %s AND time > %s",
                                     (name, now - LOCK_WINDOW)).fetchone()[0]
                if fails >= LOCK_AFTER:
                    conn.execute("UPDATE app_user SET locked_until = %s WHERE id = %s", (now + LOCK_FOR, row[0]))
                    audit.record(conn, actor=name, role=row[2], action="user.locked", target=name, ip=ip)
            audit.record(conn, actor=name[:64] or "?", role=row[2] if row else None, action="signin.failed", ip=ip)
        raise SignInRefused("bad_credentials")
    user_id, user_name, role = row[0], row[1], row[2]
    kind = "device" if role == access.WALL else "user"
    token, csrf = new_token(), new_token()
    with conn.transaction():
        conn.execute(
            "INSERT INTO app_session (token_hash, user_id, kind, csrf_token, expires_at, ip, user_agent) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (token_hash(secret, token), user_id, kind, csrf,
             now + (DEVICE_SESSION if kind == "device" else USER_SESSION), ip, (user_agent or "")[:300]))
        conn.execute("DELETE FROM auth_failure WHERE name = %s", (user_name,))
        audit.record(conn, actor=user_name, role=role, action="signin", ip=ip, detail=kind)
    return User(user_id, user_name, role, kind, csrf, token_hash(secret, token)), token


SEEN_EVERY_S = 60  # a session's last_seen_at is written at most this often (not on every request)


def session_user(conn: psycopg.Connection, secret: bytes, token: str | None) -> User | None:
    if not token or len(token) > 200:
        return None
    hashed = token_hash(secret, token)
    row = conn.execute(
        "SELECT u.id, u.name, u.role, s.kind, s.csrf_token, s.last_seen_at < now() - make_interval(secs => %s) "
        "FROM app_session s JOIN app_user u ON s.user_id = u.id "
        "WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL",
        (SEEN_EVERY_S, hashed)).fetchone()
    if row is None:
        return None
    if row[5]:
        # A wall refreshing every second would otherwise write (and sync) a row every second.
        conn.execute("UPDATE app_session SET last_seen_at = now() WHERE token_hash = %s", (hashed,))
    return User(row[0], row[1], row[2], row[3], row[4], hashed)


def sign_out(conn: psycopg.Connection, user: User, *, ip: str | None) -> None:
    with conn.transaction():
        conn.execute("UPDATE app_session SET revoked_at = now() WHERE token_hash = %s", (user.token_hash,))
        audit.record(conn, actor=user.name, role=user.role, action="signout", ip=ip)


# -- agency tokens --------------------------------------------------------------------------------
def create_token(conn: psycopg.Connection, secret: bytes, agency: str, *, actor: str) -> str:
    token = new_token()
    with conn.transaction():
        conn.execute("INSERT INTO api_token (agency, token_hash, created_by) VALUES (%s, %s, %s)",
                     (agency, token_hash(secret, token), actor))
        audit.record(conn, actor=actor, role=None, action="token.create", target=agency)
    return token


def token_agency(conn: psycopg.Connection, secret: bytes, token: str | None) -> str | None:
    if not token or len(token) > 200:
        return None
    row = conn.execute("SELECT agency FROM api_token WHERE token_hash = %s AND revoked_at IS NULL",
                       (token_hash(secret, token),)).fetchone()
    return row[0] if row else None


def revoke_tokens(conn: psycopg.Connection, agency: str, *, actor: str) -> int:
    with conn.transaction():
        n = conn.execute("UPDATE api_token SET revoked_at = now() WHERE agency = %s AND revoked_at IS NULL",
                         (agency,)).rowcount
        audit.record(conn, actor=actor, role=None, action="token.revoke", target=agency, after={"revoked": n})
    return n
