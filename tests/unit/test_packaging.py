"""The Docker path stays valid and in step with the code."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ioc.services.mosquitto import acl_text

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {name: "x" for name in (
    "IOC_PG_SUPERUSER_PASSWORD", "IOC_DB_OWNER_PASSWORD", "IOC_DB_APP_PASSWORD",
    "IOC_MQTT_PASSWORD_INGEST", "IOC_MQTT_PASSWORD_SIMULATOR", "IOC_SECRET_KEY")}


@pytest.fixture(scope="module")
def compose_config() -> dict:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose (Debian's 1.29) is installed by scripts/install-system-deps"
    result = subprocess.run([tool, "-f", str(ROOT / "docker-compose.yml"), "config"], cwd=ROOT,
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **SECRETS})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_has_every_service(compose_config):
    services = compose_config["services"]
    assert {"db", "mqtt", "migrate", "ingest", "jobs", "poll", "dashboard", "simulator"} <= set(services)
    assert services["db"]["image"].startswith("timescale/timescaledb:2.")  # pinned, not latest
    assert services["mqtt"]["image"].startswith("eclipse-mosquitto:2.")
    for name in ("db", "mqtt", "dashboard"):
        assert "healthcheck" in services[name], name
    for name in ("migrate", "ingest", "jobs", "poll", "dashboard", "simulator"):
        assert services[name]["build"]["context"] == str(ROOT)


def test_compose_needs_its_secrets(tmp_path):
    """Without the secrets in the environment (or .env) it refuses instead of running open."""
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"], cwd=tmp_path,
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "set in .env" in result.stderr


def test_broker_requires_passwords_and_the_acl_matches_the_code():
    conf = (ROOT / "docker" / "mosquitto" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "password_file" in conf and "acl_file" in conf
    acl = (ROOT / "docker" / "mosquitto" / "acl").read_text()
    assert acl.split("\n", 1)[1] == acl_text()
