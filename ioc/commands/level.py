"""`ioc level`: the operational level, for drills and automation (recorded like the wall's switch)."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from ioc.cli import _actor, _app_connection, _fail, main


@main.group()
def level() -> None:
    """The operational level (normal, level3, level2, level1)."""


@level.command("set")
@click.argument("name", metavar="LEVEL")
@click.option("--reason", required=True, help="Why (recorded with the change).")
@click.option("--drill", is_flag=True, help="Mark the activation as a drill.")
def level_set(name: str, reason: str, drill: bool) -> None:
    """Change the level; the wall follows within seconds."""
    from ioc.ops.levels import LevelError, set_level

    try:
        with _app_connection() as conn:
            state = set_level(conn, name, reason=reason, actor=_actor(), role="cli", drill=drill)
    except LevelError as exc:
        _fail(str(exc))
    click.echo(f"level {state['level']}{' (drill)' if drill else ''} since {state['since'].isoformat()}")


@level.command("show")
def level_show() -> None:
    """Print the level in force now."""
    from ioc.ops.levels import level_at

    with _app_connection() as conn:
        state = level_at(conn, datetime.now(timezone.utc))
    since = state["since"].isoformat() if state["since"] else "-"
    click.echo(f"{state['level']}\tdrill={state['drill']}\tsince={since}\treason={state['reason'] or '-'}")
