-- What each HTTP poller (`ioc poll`) remembers between rounds and across restarts: when it last
-- succeeded, the newest data it stored (where a restart re-requests from, minus the overlap
-- window), the validators of its last answers (ETag, Last-Modified, body hash) for conditional
-- requests, and the ids of index entries already fetched (CAP). One row per poller.
CREATE TABLE poll_state (
    poller       text PRIMARY KEY,
    last_attempt timestamptz,
    last_success timestamptz,          -- start of the last round that fully succeeded
    last_error   text,                 -- why the last round failed; NULL after a success
    failures     integer NOT NULL DEFAULT 0,    -- failed rounds in a row
    last_data_at timestamptz,          -- newest data time stored by this poller
    validators   jsonb NOT NULL DEFAULT '{}',   -- request key -> {etag, last_modified, sha256}
    seen         jsonb NOT NULL DEFAULT '{}',   -- entry id -> its time (ISO 8601)
    updated_at   timestamptz NOT NULL DEFAULT now()
);
