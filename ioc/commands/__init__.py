"""More `ioc` subcommands, one module per area (kpi, coverage, ops, ...). Each module adds its
commands to `ioc.cli.main`; `ioc.cli` imports every module here."""
