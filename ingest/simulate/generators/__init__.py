"""One generator per feed family, each with `tick(now) -> list[Message]` (see ../base.py)."""
