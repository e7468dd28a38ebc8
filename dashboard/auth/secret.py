"""The secret key: from IOC_SECRET_KEY, or (development only) generated once under IOC_HOME."""

from __future__ import annotations

from ioc import settings
from ioc.services.state import State

MIN_LENGTH = 32
KNOWN_DEFAULTS = {"change-me", "changeme", "secret", "dev", "development"}


class SecretKeyError(SystemExit):
    pass


def production() -> bool:
    return settings.get("IOC_ENV") == "production"


def secret_key() -> bytes:
    value = settings.get("IOC_SECRET_KEY")
    if value:
        if production() and (len(value) < MIN_LENGTH or value.lower() in KNOWN_DEFAULTS):
            raise SecretKeyError(f"IOC_SECRET_KEY is a default or shorter than {MIN_LENGTH} characters: "
                                 "refusing to start in production")
        return value.encode()
    if production():
        raise SecretKeyError("IOC_SECRET_KEY is not set: refusing to start in production")
    return State.load(settings.home()).secret("secret_key", 32).encode()
