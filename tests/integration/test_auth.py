"""Sign-in, roles and the audit trail, checked with forged requests against a running dashboard."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import psycopg
import pytest

from dashboard import access
from tests.support.dashboard import start_dashboard
from tests.support.stack import ioc_env
from tests.support.users import add_user, add_users_for_every_role, sign_in
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running(stack, tmp_path_factory):
    """One dashboard for the module, with a user of every role."""
    db = stack.new_database()
    broker = stack.new_broker()
    users = add_users_for_every_role(db)
    proc, base = start_dashboard(db, broker, tmp_path_factory.mktemp("dash") / "dashboard.log")
    yield {"db": db, "broker": broker, "base": base, "users": users, "proc": proc}
    proc.stop()
    broker.stop()


@pytest.fixture(scope="module")
def app_maps(running, tmp_path_factory, monkeypatch_module):
    """The app's callback map and URL map, built in this process from the same code."""
    monkeypatch_module.setenv("IOC_HOME", str(tmp_path_factory.mktemp("home")))
    from dashboard.app import create_app

    app = create_app(running["db"].url)
    app.server.test_client().get("/_dash-dependencies")  # lets Dash finish registering callbacks
    return app


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def client_for(running, role: str) -> httpx.Client:
    name, password = running["users"][role]
    return sign_in(running["base"], name, password)


def forged_body(key: str, entry: dict) -> dict:
    """The smallest request Dash's renderer would send for this callback."""
    def deps(items):
        return [{"id": d["id"], "property": d["property"], "value": None} for d in items]

    outputs = [{"id": o.split(".")[0], "property": o.split(".")[-1]} for o in key.strip(".").split("...")]
    return {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": deps(entry["inputs"]), "state": deps(entry["state"]),
            "changedPropIds": [f"{d['id']}.{d['property']}" for d in entry["inputs"]][:1]}


def post_callback(client: httpx.Client, base: str, body: dict, **headers) -> httpx.Response:
    h = {"Origin": base, "Content-Type": "application/json",
         "X-CSRFToken": client.cookies.get("_csrf_token") or ""}
    h.update(headers)
    return client.post("/_dash-update-component", content=json.dumps(body), headers=h)


def table_counts(db) -> dict:
    """Rows in every table but the audit trail and the sessions: 'nothing changed' means equal."""
    tables = [r[0] for r in db.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN "
        "('audit_log', 'app_session', 'auth_failure', 'schema_migrations')")]
    return {t: db.scalar(f'SELECT count(*) FROM "{t}"') for t in tables}


# -- who may come in ------------------------------------------------------------------------------
def test_unauthenticated_requests_are_sent_to_sign_in_or_refused(running):
    base = running["base"]
    with httpx.Client(base_url=base) as anon:
        for page in ("/", "/wall"):
            r = anon.get(page)
            assert r.status_code == 302 and r.headers["location"].startswith("/login"), page
        for route in ("/_dash-layout", "/_dash-dependencies", "/_reload-hash"):
            assert anon.get(route).status_code == 401, route
        r = anon.post("/_dash-update-component", json={"output": "x"}, headers={"Origin": base})
        assert r.status_code == 401
        assert anon.get("/login").status_code == 200
        assert anon.get("/assets/wall.css").status_code == 200


def test_every_response_carries_a_strict_content_security_policy(running):
    with httpx.Client(base_url=running["base"]) as anon:
        for path in ("/login", "/wall", "/_dash-layout", "/no/such/page", "/assets/wall.css"):
            csp = anon.get(path).headers.get("content-security-policy", "")
            assert "default-src 'self'" in csp, path
            script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
            assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
            assert "frame-ancestors 'none'" in csp


def test_sign_in_sets_hardened_cookies_and_a_new_session_id_each_time(running):
    name, password = running["users"][access.DUTY_OFFICER]
    first = sign_in(running["base"], name, password)
    cookie_headers = []
    with httpx.Client(base_url=running["base"], cookies=first.cookies) as again:
        import re

        form = again.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        r = again.post("/login", data={"name": name, "password": password, "csrf": csrf},
                       headers={"Origin": running["base"]})
        cookie_headers = r.headers.get_list("set-cookie")
        session_cookie = next(h for h in cookie_headers if h.startswith("ioc_session="))
        assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
        new_token = session_cookie.split(";")[0].split("=", 1)[1]
        assert new_token != first.cookies.get("ioc_session")
    # The session the browser held before signing in again is over.
    assert first.get("/_dash-layout").status_code == 401


def test_sign_out_ends_the_session(running):
    client = client_for(running, access.LEADERSHIP)
    assert client.get("/_dash-layout").status_code == 200
    r = client.post("/logout", data={"csrf": client.cookies.get("_csrf_token")},
                    headers={"Origin": running["base"]})
    assert r.status_code == 303
    stale = httpx.Client(base_url=running["base"])
    stale.cookies.set("ioc_session", client.cookies.get("ioc_session") or "gone")
    assert stale.get("/_dash-layout").status_code == 401


def test_repeated_failures_lock_the_account(running):
    db = running["db"]
    password = add_user(db, "lock-me", access.DUTY_OFFICER)
    import re

    with httpx.Client(base_url=running["base"]) as c:
        for _ in range(5):
            csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
            r = c.post("/login", data={"name": "lock-me", "password": "wrong-password-x", "csrf": csrf},
                       headers={"Origin": running["base"]})
            assert r.status_code == 401
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post("/login", data={"name": "lock-me", "password": password, "csrf": csrf},
                   headers={"Origin": running["base"]})
        assert r.status_code == 401  # the right password, but locked
    assert db.scalar("SELECT locked_until > now() FROM app_user WHERE name = 'lock-me'") is True
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'signin.failed' AND actor = 'lock-me'") == 5


def test_sign_in_from_another_site_is_refused(running):
    name, password = running["users"][access.ADMIN]
    with httpx.Client(base_url=running["base"]) as c:
        import re

        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post("/login", data={"name": name, "password": password, "csrf": csrf},
                   headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
        r = c.post("/login", data={"name": name, "password": password, "csrf": "forged"},
                   headers={"Origin": running["base"]})
        assert r.status_code == 403


# -- roles: every callback and route declares them -----------------------------------------------
def test_every_callback_page_and_route_declares_its_roles(app_maps):
    from dashboard.auth.web import PUBLIC_PATHS, ROUTE_ROLES, Gate

    gate = next(f.__self__ for f in app_maps.server.before_request_funcs[None] if isinstance(
        getattr(f, "__self__", None), Gate))
    undeclared = [k for k, v in gate.callback_access().items() if v is None]
    assert not undeclared, f"callbacks without declared roles: {undeclared}"
    import dash

    for page in dash.page_registry.values():
        assert page.get("ioc_roles"), f"page {page['path']} declares no roles"
    dash_routes = {"/_dash-layout", "/_dash-dependencies", "/_dash-update-component", "/_reload-hash",
                   "/", "/<path:path>"}
    for rule in app_maps.server.url_map.iter_rules():
        if rule.rule.startswith(("/_dash-component-suites/", "/assets/", "/static/")) or rule.rule in dash_routes:
            continue
        if rule.rule in PUBLIC_PATHS or rule.rule.startswith("/api/"):
            continue
        assert rule.endpoint in ROUTE_ROLES, f"route {rule.rule} declares no roles"


def test_forged_callbacks_are_refused_for_roles_that_may_not_use_them(running, app_maps):
    from dashboard.auth.web import Gate

    gate = next(f.__self__ for f in app_maps.server.before_request_funcs[None] if isinstance(
        getattr(f, "__self__", None), Gate))
    clients = {role: client_for(running, role) for role in access.ROLES}
    checked = 0
    for key, declared in gate.callback_access().items():
        entry = app_maps.callback_map[key]
        body = forged_body(key, entry)
        for role, client in clients.items():
            before = table_counts(running["db"]) if declared.changes_state else None
            r = post_callback(client, running["base"], body)
            if role in declared.roles:
                assert r.status_code != 403, (key, role)
            else:
                assert r.status_code == 403, (key, role, r.status_code)
                if declared.changes_state:
                    assert table_counts(running["db"]) == before, (key, role)
            checked += 1
    assert checked >= len(access.ROLES)
    # An output nobody declared is refused too.
    r = post_callback(clients[access.ADMIN], running["base"], {"output": "made-up.children", "inputs": []})
    assert r.status_code == 403


def test_cross_site_callbacks_are_refused(running, app_maps):
    from dashboard.auth.web import Gate

    gate = next(f.__self__ for f in app_maps.server.before_request_funcs[None] if isinstance(
        getattr(f, "__self__", None), Gate))
    key = next(iter(k for k, v in gate.callback_access().items() if access.ADMIN in v.roles))
    body = forged_body(key, app_maps.callback_map[key])
    client = client_for(running, access.ADMIN)
    base = running["base"]
    assert post_callback(client, base, body).status_code == 200
    assert post_callback(client, base, body, Origin="https://evil.example").status_code == 403
    assert post_callback(client, base, body, **{"Content-Type": "text/plain"}).status_code == 403
    assert post_callback(client, base, body, **{"X-CSRFToken": "forged"}).status_code == 403
    r = client.post("/_dash-update-component", data={"output": key}, headers={"Origin": base})
    assert r.status_code == 403  # a form post
    no_origin = client.post("/_dash-update-component", content=json.dumps(body), headers={
        "Content-Type": "application/json", "X-CSRFToken": client.cookies.get("_csrf_token")})
    assert no_origin.status_code == 403


# -- the audit trail --------------------------------------------------------------------------------
def test_audit_trail_records_and_cannot_be_rewritten_by_the_app_role(running):
    db = running["db"]
    client_for(running, access.COORDINATOR)
    rows = db.query("SELECT actor, role, action, time FROM audit_log WHERE action = 'signin' "
                    "AND actor = 'u-coordinator'")
    assert rows and rows[-1][1] == access.COORDINATOR and rows[-1][3].utcoffset() is not None
    assert db.scalar("SELECT count(*) FROM audit_log WHERE action = 'refused'") > 0
    with psycopg.connect(db.url, autocommit=True) as app_conn:
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app_conn.execute(statement)
    with psycopg.connect(db.owner_url, autocommit=True) as owner:
        with pytest.raises(psycopg.errors.RaiseException):
            owner.execute("DELETE FROM audit_log")


# -- wall devices, secrets, single sign-on ----------------------------------------------------------
def test_wall_device_stays_signed_in_across_a_restart(stack, tmp_path):
    db = stack.new_database()
    broker = stack.new_broker()
    password = add_user(db, "wall-7", access.WALL)
    proc, base = start_dashboard(db, broker, tmp_path / "d1.log")
    client = sign_in(base, "wall-7", password)
    cookie = next(c for c in client.cookies.jar if c.name == "ioc_session")
    assert cookie.expires and cookie.expires > __import__("time").time() + 300 * 86400
    proc.stop()
    proc2, base2 = start_dashboard(db, broker, tmp_path / "d2.log")
    again = httpx.Client(base_url=base2)
    again.cookies.set("ioc_session", cookie.value)
    assert again.get("/_dash-layout").status_code == 200
    # ...until revoked.
    subprocess.run([sys.executable, "-m", "ioc", "users", "revoke-sessions", "wall-7"], env=ioc_env(db, broker),
                   check=True, capture_output=True)
    assert again.get("/_dash-layout").status_code == 401
    proc2.stop()
    broker.stop()


def test_production_refuses_a_missing_or_default_secret_key(running):
    env = ioc_env(running["db"], running["broker"], IOC_ENV="production", IOC_DASHBOARD_PORT="1")
    for key in (None, "change-me", "tiny-key-7731"):
        e = dict(env)
        if key:
            e["IOC_SECRET_KEY"] = key
        r = subprocess.run([sys.executable, "-m", "ioc", "dashboard"], env=e, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode != 0
        assert "IOC_SECRET_KEY" in r.stderr
        assert (key or "@@") not in r.stderr.replace("IOC_SECRET_KEY", "")  # never echoes the secret


def test_trusted_proxy_sign_on_is_off_by_default_and_works_when_set(stack, tmp_path):
    db = stack.new_database()
    broker = stack.new_broker()
    add_user(db, "sso-user", access.LEADERSHIP)
    proc, base = start_dashboard(db, broker, tmp_path / "off.log")
    assert httpx.get(f"{base}/_dash-layout", headers={"X-Remote-User": "sso-user"}).status_code == 401
    proc.stop()
    proc, base = start_dashboard(db, broker, tmp_path / "on.log", IOC_AUTH_PROXY_HEADER="X-Remote-User",
                                 IOC_AUTH_PROXY_FROM="127.0.0.1")
    assert httpx.get(f"{base}/_dash-layout", headers={"X-Remote-User": "sso-user"}).status_code == 200
    assert httpx.get(f"{base}/_dash-layout", headers={"X-Remote-User": "nobody"}).status_code == 401
    proc.stop()
    broker.stop()
    wait_until(lambda: db.scalar("SELECT count(*) FROM audit_log WHERE detail = 'proxy'") == 1, 5)
