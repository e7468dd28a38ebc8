"""`schemas/sql/020_cap.sql` on a real PostgreSQL 15 (with TimescaleDB when it can be loaded):
rows written insert-or-ignore, in every arrival order, give the same alert states.

Starts a throwaway cluster of its own (a few seconds); skipped where PostgreSQL 15 is not
installed. Rows are written the way the sink does it: binary COPY typed by the columns, then
INSERT ... ON CONFLICT DO NOTHING.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ingest.feeds import get

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = ROOT / "schemas" / "sql" / "020_cap.sql"
PG_BIN = Path(os.environ.get("IOC_PG_BIN", "/usr/lib/postgresql/15/bin"))
FEED = get("cap")
TABLES = {t.name: t for t in FEED.tables}

pytestmark = pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="PostgreSQL 15 not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def db():
    root = Path(tempfile.mkdtemp(prefix="ioc-cap-pg-"))
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:  # PostgreSQL refuses to run as root
        try:
            shutil.chown(root, "postgres")
        except LookupError:
            shutil.rmtree(root)
            pytest.skip("running as root and there is no postgres user to run PostgreSQL")
    data, port = root / "data", _free_port()

    def run(*args, check=True):
        return subprocess.run([*run_as, *map(str, args)], capture_output=True, text=True, check=check,
                              timeout=120)

    run(PG_BIN / "initdb", "-N", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--locale=C.UTF-8")
    opts = f"-p {port} -k {root} -c listen_addresses='' -c fsync=off"
    timescale = (PG_BIN.parent / "lib" / "timescaledb.so").exists()
    started = run(PG_BIN / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-o",
                  opts + (" -c shared_preload_libraries=timescaledb" if timescale else ""), "start",
                  check=False)
    if started.returncode != 0 and timescale:  # the library is there but cannot be loaded
        timescale = False
        run(PG_BIN / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-o", opts, "start")
    try:
        conninfo = f"host={root} port={port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            if timescale:
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            conn.execute(MIGRATION.read_text(encoding="utf-8"))
            conn.execute(MIGRATION.read_text(encoding="utf-8"))  # migrations rerun harmlessly
            conn.timescale = timescale
            yield conn
    finally:
        run(PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


def write(conn, payload: bytes) -> None:
    """Store every row of one message the way the sink does (ingest/sink.py): binary COPY with
    the columns' types into a staging table, then INSERT ... ON CONFLICT DO NOTHING."""
    (rec,) = FEED.parse(payload)
    rows: dict[str, list[tuple]] = {}
    for table, values in FEED.to_rows(rec, datetime.now(timezone.utc)):
        rows.setdefault(table, []).append(values)
    for table, values in rows.items():
        cols = sql.SQL(", ").join(map(sql.Identifier, TABLES[table].columns))
        stage = sql.Identifier(f"_stage_{table}")
        oids = [conn.execute("SELECT atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
                             "AND attname = %s", (table, c)).fetchone()[0] for c in TABLES[table].columns]
        conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {})").format(
            stage, sql.Identifier(table)))
        with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                stage, cols)) as copy:
            copy.set_types(oids)
            for row in values:
                copy.write_row(row)
        conn.execute(sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {s} ON CONFLICT DO NOTHING").format(
            t=sql.Identifier(table), c=cols, s=stage))
        conn.execute(sql.SQL("TRUNCATE {}").format(stage))


def reset(conn) -> None:
    conn.execute("TRUNCATE cap_alert, cap_area, cap_reference")


def message(ident: str, sent: str, *, msg_type: str = "Alert", refs: str = "", district: str = "6600800",
            severity: str = "Severe", expires: str | None = "2024-04-23T17:00:00+08:00",
            effective: str | None = None, status: str = "Actual", sender: str = "w@cwa") -> bytes:
    references = f"<references>{refs}</references>" if refs else ""
    times = (f"<effective>{effective or sent}</effective>"
             + (f"<expires>{expires}</expires>" if expires else ""))
    info = "" if msg_type == "Cancel" else f"""<info><category>Met</category><event>降雨</event>
      <urgency>Future</urgency><severity>{severity}</severity><certainty>Likely</certainty>{times}
      <area><areaDesc>d</areaDesc><geocode><valueName>Taiwan_Geocode_103</valueName>
      <value>{district}</value></geocode></area></info>"""
    return f"""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{ident}</identifier>
      <sender>{sender}</sender><sent>{sent}</sent><status>{status}</status><msgType>{msg_type}</msgType>
      <scope>Public</scope>{references}{info}</alert>""".encode()


def states(conn, as_of: str) -> dict[str, str]:
    return dict(conn.execute("SELECT identifier, state FROM cap_alert_state(%s)", (as_of,)).fetchall())


def in_force(conn, as_of: str) -> list[tuple[str, list[str]]]:
    return conn.execute("SELECT identifier, districts FROM cap_alerts_in_force(%s)", (as_of,)).fetchall()


A = message("A", "2024-04-23T02:00:00+08:00", district="6600800")
B = message("B", "2024-04-23T04:00:00+08:00", msg_type="Update", district="6600700",
            refs="w@cwa,A,2024-04-23T02:00:00+08:00")
C = message("C", "2024-04-23T06:00:00+08:00", msg_type="Cancel", refs="w@cwa,B,2024-04-23T04:00:00+08:00")
TIMES = ("2024-04-23T03:00:00+08:00", "2024-04-23T05:00:00+08:00", "2024-04-23T07:00:00+08:00")


def snapshot(conn):
    return [(states(conn, t), in_force(conn, t)) for t in TIMES]


def test_tables_are_hypertables_when_timescaledb_is_there(db):
    if not db.timescale:
        pytest.skip("TimescaleDB cannot be loaded here")
    names = {r[0] for r in db.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
    assert {"cap_alert", "cap_area", "cap_reference"} <= names


def test_alert_update_cancel_end_the_same_in_every_arrival_order(db):
    results = []
    for order in itertools.permutations([A, B, C]):
        reset(db)
        for payload in order + order:  # every message replayed once
            write(db, payload)
        assert db.execute("SELECT count(*) FROM cap_alert").fetchone()[0] == 3
        results.append(snapshot(db))
    assert all(r == results[0] for r in results)
    at3, at5, at7 = results[0]
    assert at3 == ({"A": "active"}, [("A", ["66000080"])])
    assert at5 == ({"A": "updated", "B": "active"}, [("B", ["66000070"])])
    assert at7 == ({"A": "updated", "B": "cancelled", "C": "notice"}, [])


def test_cancel_of_the_original_also_ends_its_earlier_updates(db):
    reset(db)
    cancel_a = message("C2", "2024-04-23T06:00:00+08:00", msg_type="Cancel",
                       refs="w@cwa,A,2024-04-23T02:00:00+08:00")
    for payload in (cancel_a, B, A):
        write(db, payload)
    assert states(db, TIMES[2]) == {"A": "cancelled", "B": "cancelled", "C2": "notice"}
    assert in_force(db, TIMES[2]) == []
    assert in_force(db, TIMES[1]) == [("B", ["66000070"])]  # the cancel was not yet sent


def test_another_sender_cannot_cancel_or_update(db):
    reset(db)
    write(db, A)
    write(db, message("X", "2024-04-23T02:30:00+08:00", msg_type="Cancel", sender="prank@example",
                      refs="w@cwa,A,2024-04-23T02:00:00+08:00"))
    assert states(db, TIMES[0]) == {"A": "active", "X": "notice"}
    assert in_force(db, TIMES[0]) == [("A", ["66000080"])]


def test_expiry_default_validity_pending_and_status(db):
    reset(db)
    write(db, message("E", "2024-04-23T02:00:00+08:00", expires="2024-04-23T04:00:00+08:00"))
    write(db, message("N", "2024-04-23T02:00:00+08:00", expires=None))  # in force 24 h
    write(db, message("P", "2024-04-23T02:00:00+08:00", effective="2024-04-23T06:00:00+08:00"))
    write(db, message("T", "2024-04-23T02:00:00+08:00", status="Test"))
    assert states(db, TIMES[1]) == {"E": "expired", "N": "active", "P": "pending", "T": "active"}
    assert sorted(i for i, _ in in_force(db, TIMES[1])) == ["N"]
    assert sorted(i for i, _ in in_force(db, TIMES[2])) == ["N", "P"]
    assert states(db, "2024-04-24T02:00:00+08:00")["N"] == "expired"
    assert sorted(i for i, _ in in_force(db, "2024-04-24T01:59:59+08:00")) == ["N"]  # P ended 17:00


def test_district_severity_shades_with_the_most_severe_alert(db):
    reset(db)
    write(db, message("M", "2024-04-23T02:00:00+08:00", severity="Moderate", district="66"))
    write(db, message("S", "2024-04-23T02:10:00+08:00", severity="Severe", district="6600800"))
    rows = {d: (sev, rank, n) for d, sev, rank, n, _ in
            db.execute("SELECT * FROM cap_district_severity(%s)", (TIMES[1],)).fetchall()}
    assert len(rows) == 29
    assert rows["66000080"] == ("Severe", 3, 2)
    assert rows["66000010"] == ("Moderate", 2, 1)


def test_reference_cycles_end(db):
    reset(db)
    write(db, message("X", "2024-04-23T02:00:00+08:00", msg_type="Update",
                      refs="w@cwa,Y,2024-04-23T03:00:00+08:00"))
    write(db, message("Y", "2024-04-23T03:00:00+08:00", msg_type="Update",
                      refs="w@cwa,X,2024-04-23T02:00:00+08:00"))
    assert states(db, TIMES[1]) == {"X": "updated", "Y": "updated"}


def test_real_rain_warning_is_stored_once_and_shades_all_districts(db):
    reset(db)
    payload = (ROOT / "tests" / "fixtures" / "cap" / "tw_fifows_extremely-rain_202404230229.cap").read_bytes()
    write(db, payload)
    write(db, payload)
    counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("cap_alert", "cap_area")]
    assert counts == [1, 73]
    record = db.execute("SELECT record FROM cap_alert").fetchone()[0]
    assert record == FEED.parse(payload)[0]
    shaded = db.execute("SELECT district, severity FROM cap_district_severity('2024-04-23T12:00:00+08:00')")
    assert {s for _, s in shaded.fetchall()} == {"Moderate"}
    assert db.execute("SELECT count(*) FROM cap_district_severity('2024-04-23T12:00:00+08:00')"
                      ).fetchone()[0] == 29
