-- Sign-in, roles, sessions, agency tokens and the audit trail.
CREATE TABLE app_user (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    role            text NOT NULL CHECK (role IN ('leadership', 'duty_officer', 'coordinator', 'kpi_staff', 'admin', 'wall')),
    password_hash   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz,
    locked_until    timestamptz
);

-- A session is a random token in a cookie; only its keyed hash is stored, so a copy of this
-- table signs nobody in. Wall devices get long-lived sessions; revoking ends any at once.
CREATE TABLE app_session (
    token_hash   text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    kind         text NOT NULL CHECK (kind IN ('user', 'device')),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    ip           text,
    user_agent   text
);
CREATE INDEX app_session_user_idx ON app_session (user_id);

-- Failed sign-ins, for lock-out by account and rate limits by address.
CREATE TABLE auth_failure (
    time timestamptz NOT NULL DEFAULT now(),
    name text,
    ip   text
);
CREATE INDEX auth_failure_name_idx ON auth_failure (name, time DESC);
CREATE INDEX auth_failure_ip_idx ON auth_failure (ip, time DESC);

-- Agencies reach the API with bearer tokens (printed once, stored as a keyed hash).
CREATE TABLE api_token (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency      text NOT NULL,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text,
    revoked_at  timestamptz
);

-- The audit trail: one row per sign-in, sign-out, refusal and change; never rewritten.
CREATE TABLE audit_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time    timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    role    text,
    action  text NOT NULL,
    target  text,
    before  jsonb,
    after   jsonb,
    ip      text,
    detail  text
);
CREATE INDEX audit_log_time_idx ON audit_log (time DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ioc_app') THEN
    EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM ioc_app';
    EXECUTE 'GRANT SELECT, INSERT ON audit_log TO ioc_app';
  END IF;
END $$;
