"""Issue 8, item 8: a full disk is reported, not silently fatal.

The detector readings' chunks are put on a tablespace on a small filesystem of their own (an 8 MiB
tmpfs), which is then filled while messages arrive. The database refuses to grow the table
(SQLSTATE 53100, disk full): the worker keeps the messages unacknowledged and retries instead
of dropping or dying; the disk check reports that filesystem `critical`; once space is freed,
every accepted message is stored.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ioc.jobs import JobContext
from ioc.jobs import disk as disk_job
from tests.chaos.harness import NumberedPublisher, Sampler, WorkerRun, account, figures, settle

SIZE = "8m"


@pytest.fixture
def small_filesystem(chaos_stack):
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    # Under /var/tmp: the database's own user must reach it (pytest's tmp_path is root's alone).
    mount = Path(tempfile.mkdtemp(prefix="ioc-chaos-disk-", dir="/var/tmp"))
    os.chmod(mount, 0o755)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(mount)], check=True)
    folder = mount / "pg"
    folder.mkdir()
    subprocess.run(["chown", chaos_stack.pg.run_as or "postgres", str(folder)], check=True)
    os.chmod(folder, 0o700)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


@pytest.mark.timeout(240)
def test_full_disk_is_reported_and_nothing_is_lost(chaos_stack, stack, small_filesystem, tmp_path, monkeypatch):
    fig = figures("disk full (readings' tablespace)")
    space = f"small_{uuid.uuid4().hex[:6]}"
    superuser = chaos_stack.pg.url("postgres", "postgres")
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLESPACE {} OWNER ioc_owner LOCATION {}").format(
            sql.Identifier(space), sql.Literal(str(small_filesystem / "pg"))))
    db, broker = chaos_stack.new_database(), stack.new_broker()
    db.query("SELECT attach_tablespace(%s, 'vd_reading')", (space,))
    worker = WorkerRun(db, broker, tmp_path).start()
    pub = NumberedPublisher(broker, "DISK")
    filler = small_filesystem / "filler"
    monkeypatch.setenv("IOC_HOME", str(tmp_path))
    monkeypatch.setenv("IOC_DISK_MIN_FREE_MB", "1")
    ctx = JobContext(db.url, db.owner_url, None, threading.Event(), {})
    try:
        with Sampler(worker) as sampler:
            pub.publish(200, 500)  # the first chunk is created on the small filesystem
            settle(db, pub.tag, set(pub.accepted()), 30)
            with open(filler, "wb") as f:  # fill it up to the last few KiB
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            full_at = time.monotonic()
            pub.publish(3000, 500)
            assert pub.wait_acks(30)
            time.sleep(3)
            disk_job.run(ctx)
            reported = dict(db.query("SELECT name, status FROM health_check WHERE name LIKE 'disk:%%'"))
            during = sampler.between(full_at, time.monotonic())
            acked_while_full = during[-1]["ioc_ingest_acked_total"] - during[0]["ioc_ingest_acked_total"]
            errors = during[-1]["ioc_ingest_db_errors_total"]
            alive_while_full = worker.alive()
            filler.unlink()  # space again
            freed_at = time.monotonic()
            stored = settle(db, pub.tag, set(pub.accepted()), 90)
            recovered = time.monotonic() - freed_at
        disk_job.run(ctx)
        after = db.scalar("SELECT status FROM health_check WHERE name = %s", (f"disk:tablespace-{space}",))
        account(fig, pub, stored)
        fig.redelivered += worker.redelivered()
        fig.note(f"tablespace on an {SIZE} filesystem filled: {errors:.0f} failed commits retried, "
                 f"{acked_while_full:.0f} acks while full, disk check said {reported.get(f'disk:tablespace-{space}')}"
                 f"; everything stored {recovered:.1f} s after space was freed")
    finally:
        pub.close()
        worker.close()
        fig.worker_crashes += worker.crashes()
        broker.stop()
        if filler.exists():
            filler.unlink()
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name)))
            conn.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(space)))
    assert reported.get(f"disk:tablespace-{space}") == "critical", reported
    assert errors > 0, "the full disk should have failed commits"
    assert acked_while_full == 0, "nothing may be acknowledged that could not be stored"
    assert alive_while_full
    assert after == "ok"
    assert fig.lost == 0 and fig.duplicates == 0
    assert fig.worker_crashes == 0, worker.logs()[-3000:]
    assert "No space left on device" in worker.logs() or "could not extend" in worker.logs()
