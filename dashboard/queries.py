"""Every query the dashboard runs. Each takes the moment it shows (`as_of`) as a parameter:
live is simply as_of = now, and time travel is the same query with another moment. Time bounds
are parameters (never sub-selects), so TimescaleDB skips the chunks outside them."""

from __future__ import annotations

from datetime import datetime, timedelta

from .data import Database


def feed_activity(db: Database, as_of: datetime, feeds: list[str],
                  lookback: timedelta = timedelta(days=30)) -> dict[str, dict]:
    """Per feed: when its last message arrived and the newest data time it carried."""
    rows = db.rows(
        """SELECT f.feed, a.time AS last_received, a.last_data_at
             FROM unnest(%(feeds)s::text[]) AS f(feed)
             CROSS JOIN LATERAL (
                 SELECT time, last_data_at FROM feed_activity
                  WHERE feed = f.feed AND time <= %(as_of)s AND time > %(since)s
                  ORDER BY time DESC LIMIT 1) a""",
        {"feeds": feeds, "as_of": as_of, "since": as_of - lookback})
    return {r["feed"]: r for r in rows}


def level(db: Database, as_of: datetime) -> dict:
    """The operational level in force at `as_of`."""
    from ioc.ops.levels import level_at

    with db.connection() as conn:
        return level_at(conn, as_of)
