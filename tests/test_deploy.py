"""Production readiness: the deploy checks pass, production refuses to start half-configured,
every setting is documented in .env.example, and the docker/ role scripts are sound.

Settings are read once at import, so each production configuration runs ``manage.py`` in a
subprocess with its own environment.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "backoffice" / "settings.py"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKER = ROOT / "docker"
SCRIPTS = ["start-web.sh", "start-worker.sh", "start-beat.sh", "release.sh"]

_ENV_CALL = re.compile(r"""\benv_(?:str|bool|int|list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
_OS_ENVIRON = re.compile(r"""os\.environ(?:\.get\(|\.setdefault\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
_DOCUMENTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def settings_variables() -> set[str]:
    return set(_ENV_CALL.findall(SETTINGS.read_text()))


def backoffice_os_environ_variables() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "backoffice").rglob("*.py"):
        if "migrations" not in path.parts:
            names |= set(_OS_ENVIRON.findall(path.read_text()))
    return names


def documented_variables(path: Path = ENV_EXAMPLE) -> set[str]:
    return set(_DOCUMENTED.findall(path.read_text()))


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """The process environment minus anything the settings read, plus a valid production setup."""
    env = {k: v for k, v in os.environ.items() if k not in settings_variables()}
    env.update(
        BACKOFFICE_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        SECRETS_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="backoffice.example",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
        EMAIL_URL=f"file://{tmp_path / 'mail'}",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_passes_the_deploy_checks(tmp_path):
    env = production_env(tmp_path)
    assert len(env["SECRET_KEY"]) >= 64

    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output.upper(), output
    assert "System check identified no issues" in output


@pytest.mark.parametrize("missing", ["SECRET_KEY", "SECRETS_ENCRYPTION_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(tmp_path, missing):
    result = manage(production_env(tmp_path, **{missing: None}), "check")

    assert result.returncode != 0
    assert missing in result.stderr, result.stderr
    # Nothing was generated in its place.
    assert not (tmp_path / "var" / f"{missing.lower()}.txt").exists()


def test_production_refuses_debug(tmp_path):
    result = manage(production_env(tmp_path, DEBUG="1"), "check")

    assert result.returncode != 0
    assert "DEBUG" in result.stderr, result.stderr


def test_every_setting_read_from_the_environment_is_in_env_example():
    read = settings_variables() | backoffice_os_environ_variables()
    # The parser finds the settings' variables at all (a silently empty set would pass).
    assert {"SECRET_KEY", "SECRETS_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"} <= read

    missing = read - documented_variables()
    assert not missing, f"add to .env.example, with what it does and its default: {sorted(missing)}"


def test_env_example_describes_each_variable_and_its_default():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if not _DOCUMENTED.match(line):
            continue
        above = number - 1
        while above >= 0 and _DOCUMENTED.match(lines[above]):  # a group such as WEB_WORKERS, WEB_THREADS
            above -= 1
        comment = []
        while above >= 0 and lines[above].startswith("#"):
            comment.append(lines[above])
            above -= 1
        assert comment, f"no comment above {line!r} in .env.example"
        assert "Default" in "\n".join(comment), f"the comment above {line!r} does not give its default"


@pytest.mark.parametrize("script", SCRIPTS)
def test_role_script_is_executable_strict_and_parses(script):
    path = DOCKER / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    source = path.read_text()
    assert source.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in source
    # exec: the server is the container's main process and receives its signals directly.
    assert re.search(r"^exec ", source, re.MULTILINE), "the role command must be exec'd"

    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_compose_stack_shape():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]

    assert {"web", "worker", "beat", "release", "postgres", "redis"} <= set(services)
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert "container_name" not in service, f"{name} must stay scalable"
        assert service["depends_on"]["release"] == {"condition": "service_completed_successfully"}
        assert service["env_file"] == [".env"]
        assert service["command"] == [f"/app/docker/start-{name}.sh"]
    assert services["release"]["command"] == ["/app/docker/release.sh"]
    assert services["release"]["restart"] == "no"
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]

    production = documented_variables(DOCKER / ".env.example")
    assert {
        "BACKOFFICE_ENV",
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "SECRETS_ENCRYPTION_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SITE_URL",
        "EMAIL_URL",
    } <= production


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    patterns = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", "**/.env", ".venv", "var", ".git"} <= patterns
