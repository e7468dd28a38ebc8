"""What the local services remember between runs: ports and generated secrets, under IOC_HOME.

Kept in `IOC_HOME/state.json` (mode 600): the first run picks free ports and generates
passwords; later runs, and every `ioc` subcommand run from the checkout, read them back.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import socket
import subprocess
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def new_secret(nbytes: int = 18) -> str:
    return secrets.token_urlsafe(nbytes)


@dataclass
class State:
    path: Path
    data: dict = field(default_factory=dict)

    @classmethod
    def load(cls, home: Path) -> "State":
        path = home / "state.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        return cls(path, data)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, sort_keys=True))
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def secret(self, name: str, nbytes: int = 18) -> str:
        """A generated secret, created once and kept."""
        bag = self.data.setdefault("secrets", {})
        if name not in bag:
            bag[name] = new_secret(nbytes)
            self.save()
        return bag[name]

    def port(self, name: str, wanted: int, *, owned_running: bool = False) -> int:
        """A port for a service: the configured one, else the remembered one while it is free
        (or held by our own running service), else a new free one."""
        ports = self.data.setdefault("ports", {})
        if wanted:
            port = wanted
        elif ports.get(name) and (owned_running or port_is_free(ports[name])):
            port = ports[name]
        else:
            port = free_port()
        if ports.get(name) != port:
            ports[name] = port
            self.save()
        return port


def is_root() -> bool:
    return os.geteuid() == 0


def user_can_reach(user: str, path: Path) -> bool:
    """Whether `user` may traverse every folder down to `path` (checked by that user itself)."""
    if not is_root():
        return True
    probe = path
    while not probe.exists():
        probe = probe.parent
    result = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(probe)],
                            capture_output=True)
    return result.returncode == 0


def service_dir(home: Path, name: str, user: str | None) -> Path:
    """Where a service run as `user` keeps its files: IOC_HOME/<name> when that user can reach it,
    else a folder of its own under /var/tmp, linked from IOC_HOME/<name> (a clone inside a
    root-only folder is out of an unprivileged user's reach)."""
    wanted = home / name
    if user is None or not is_root() or user_can_reach(user, home):
        folder = wanted
    else:
        tag = sha256(str(home).encode()).hexdigest()[:12]
        folder = Path("/var/tmp") / f"ioc-{tag}" / name
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(folder.parent, 0o755)
        if wanted.is_symlink() and wanted.resolve() != folder:
            wanted.unlink()
        if not wanted.exists():
            home.mkdir(parents=True, exist_ok=True)
            wanted.symlink_to(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if user is not None and is_root():
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    os.chmod(folder, 0o700)
    return folder


def chown_to(path: Path, user: str | None) -> None:
    if user is not None and is_root():
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
