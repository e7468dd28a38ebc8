"""A project-local Mosquitto broker: passwords, an ACL per publisher, persistence set deliberately.

Settings that decide what can be lost (see README, Reliability):
- `max_queued_messages`: Mosquitto's default (1000) silently drops QoS 1 messages for a
  subscriber that falls behind; we hold a large backlog instead (IOC_MQTT_MAX_QUEUED).
- `autosave_interval`: the in-memory store is written to disk this often; a hard kill of the
  broker can lose messages accepted since the last save. A graceful stop saves everything.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .state import State, chown_to, is_root, service_dir

log = logging.getLogger(__name__)

# Accounts and what each may do. Each publisher may write only its own topics; the ingest
# worker reads everything; the simulator stands in for every publisher at once.
ACCOUNTS: dict[str, list[str]] = {
    # ...and the broker's count of messages it dropped at its queue limits (reported, never silent).
    "ingest": ["read ioc/v1/#", "read v1.0/#", "write ioc/v1/notify/#", "read $SYS/broker/publish/messages/dropped"],
    "simulator": ["write ioc/v1/#", "write v1.0/#"],
    "pub-traffic": ["write ioc/v1/traffic/#"],
    "pub-weather": ["write ioc/v1/weather/#"],
    "pub-disaster": ["write ioc/v1/disaster/#"],
    "pub-police": ["write ioc/v1/police/#"],
    "pub-telecom": ["write ioc/v1/telecom/#"],
    "pub-kpi": ["write ioc/v1/kpi/#"],
    "pub-sta": ["write v1.0/#"],
    "dashboard": ["read ioc/v1/#"],
}


def acl_text(accounts: dict[str, list[str]] = ACCOUNTS) -> str:
    blocks = []
    for user, rules in accounts.items():
        blocks.append(f"user {user}\n" + "".join(f"topic {rule}\n" for rule in rules))
    return "\n".join(blocks)


class LocalMosquitto:
    def __init__(self, home: Path, *, port: int = 0, max_queued: int = 2_000_000,
                 autosave_s: int = 2, run_as: str = "mosquitto", binary: str = "mosquitto",
                 tls: tuple[Path, Path] | None = None):
        self.home = home
        self.state = State.load(home)
        self.run_as = run_as if is_root() else None
        self.dir = service_dir(home, "mosquitto", self.run_as)
        self.pid_file = self.dir / "mosquitto.pid"
        self.port = self.state.port("mosquitto", port, owned_running=self.is_running())
        self.max_queued = max_queued
        self.autosave_s = autosave_s
        self.binary = binary
        self.tls = tls  # (certificate, key) for an extra TLS listener
        self.tls_port = self.state.port("mosquitto_tls", 0) if tls else None
        self.process: subprocess.Popen | None = None

    def password(self, user: str) -> str:
        return self.state.secret(f"mqtt_{user}")

    def url(self, user: str = "ingest") -> str:
        return f"mqtt://{user}:{self.password(user)}@127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        data = self.dir / "data"
        data.mkdir(exist_ok=True)
        chown_to(data, self.run_as)
        passwd = self.dir / "passwd"
        passwd.write_text("".join(f"{u}:{self.password(u)}\n" for u in ACCOUNTS))
        os.chmod(passwd, 0o600)
        subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True, capture_output=True)
        chown_to(passwd, self.run_as)
        acl = self.dir / "acl"
        acl.write_text(acl_text())
        chown_to(acl, self.run_as)
        conf = self.dir / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {passwd}",
            f"acl_file {acl}",
            "persistence true",
            f"persistence_location {data}/",
            f"autosave_interval {self.autosave_s}",
            "autosave_on_changes false",
            f"max_queued_messages {self.max_queued}",
            "max_queued_bytes 0",
            "max_inflight_messages 0",
            # Above any feed's own size limit, so an oversized message reaches the worker and
            # is dead-lettered with a reason instead of vanishing at the broker.
            "max_packet_size 16777216",
            "persistent_client_expiration 14d",
            f"log_dest file {self.dir / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages false",
        ]
        if self.tls:
            cert, key = (self._readable_copy(p) for p in self.tls)
            lines += [f"listener {self.tls_port} 127.0.0.1", f"certfile {cert}", f"keyfile {key}",
                      "tls_version tlsv1.2"]
        if self.run_as:
            lines.append(f"user {self.run_as}")
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def _readable_copy(self, source: Path) -> Path:
        """The broker drops privileges before reading certificates: give it its own copy."""
        target = self.dir / Path(source).name
        target.write_bytes(Path(source).read_bytes())
        os.chmod(target, 0o600)
        chown_to(target, self.run_as)
        return target

    def tls_url(self, user: str = "ingest") -> str:
        return f"mqtts://{user}:{self.password(user)}@127.0.0.1:{self.tls_port}"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"mosquitto" not in cmdline.read_bytes():
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, timeout: float = 20) -> None:
        if self.is_running():
            return
        conf = self.write_config()
        log.info("starting Mosquitto on 127.0.0.1:%s", self.port)
        # A session of its own: Ctrl-C in the terminal reaches `ioc up`, which stops us in order.
        self.process = subprocess.Popen([self.binary, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        self.pid_file.write_text(str(self.process.pid))
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log_tail = (self.dir / "mosquitto.log").read_text(errors="replace")[-2000:] \
                    if (self.dir / "mosquitto.log").exists() else ""
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}\n{log_tail}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"mosquitto did not listen on {self.port} within {timeout}s")

    def stop(self, timeout: float = 20) -> None:
        """Graceful: SIGTERM makes Mosquitto save its store before it exits."""
        pid = self.pid()
        if pid is None:
            return
        log.info("stopping Mosquitto")
        os.kill(pid, signal.SIGTERM)
        self._wait_gone(pid, timeout)

    def kill(self) -> None:
        """Hard kill (fault injection): whatever was not yet autosaved is lost."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)

    def signal(self, sig: int) -> None:
        pid = self.pid()
        if pid is not None:
            os.kill(pid, sig)

    def _wait_gone(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.pid == pid:
                if self.process.poll() is not None:
                    return
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
