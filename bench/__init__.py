"""Benchmarks of the operations center: `make bench` (quick) and `make bench-full`.

Each benchmark is a module with `run(ctx) -> dict`; `bench/__main__.py` runs them in order on
real services of their own (a TimescaleDB cluster and a Mosquitto broker in a temporary
IOC_HOME, configured as `ioc up` configures them), prints a table and writes
`bench/results/<timestamp>.json` and `bench/results/latest.json`.
"""
