"""Message schemas (JSON Schema documents), SQL migrations and data files (YAML)."""

from importlib import resources
from pathlib import Path


def path(*parts: str) -> Path:
    """A file shipped in this package, e.g. path("messages", "cap.schema.json")."""
    return Path(str(resources.files(__name__).joinpath(*parts)))
