"""Shared fixtures: personas, service detection, and the strict mode CI uses.

Personas (after healthchecks' tests): at Loja, alice is the Owner, adam the Administrator,
bob an Operator, fiona in Finance, victor a Viewer, quinn the QR Code Manager and paula an
Operator limited to the Porto store. mallory is the Owner of another merchant, Outra Loja.

Tests that need a real service carry a marker (``postgres``, ``redis``, ``browser``) and skip
when it is absent; with ``REQUIRE_SERVICES=1`` (as in ``.ci/run``) such a skip is a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings

from tests.factories import make_membership, make_merchant, make_store, make_terminal, make_user

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"
SERVICE_MARKERS = ("postgres", "redis", "browser", "sshd", "gnupg")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _service_available(marker: str) -> str | None:
    """None when available, else the reason it is not."""
    if marker == "postgres":
        engine = settings.DATABASES["default"]["ENGINE"]
        return None if "postgresql" in engine else "needs DATABASE_URL=postgres://…"
    if marker == "redis":
        if not os.environ.get("REDIS_URL"):
            return "needs REDIS_URL=redis://…"
        try:
            import redis

            redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=1).ping()
        except Exception as exc:
            return f"Redis at REDIS_URL is not reachable: {exc}"
        return None
    if marker == "sshd":
        return (
            None
            if shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")
            else "needs OpenSSH's sshd (apt-get install openssh-server)"
        )
    if marker == "gnupg":
        return None if shutil.which("gpg") else "needs GnuPG (apt-get install gnupg)"
    if marker == "browser":
        if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
            return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        try:
            import playwright  # noqa: F401
        except ImportError:
            return "needs the playwright package"
        return None
    return None


def pytest_runtest_setup(item):
    for marker in SERVICE_MARKERS:
        if item.get_closest_marker(marker):
            reason = _service_available(marker)
            if reason:
                pytest.skip(f"[{marker}] {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and any(item.get_closest_marker(m) for m in SERVICE_MARKERS):
        report.outcome = "failed"
        report.longrepr = f"REQUIRE_SERVICES=1 but a service test was skipped: {report.longrepr}"


@pytest.fixture(autouse=True)
def _default_language():
    """A page requested in Portuguese leaves Portuguese active in the thread: the next test starts
    in the default language again, whatever ran before it."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _isolated_cache(_test_settings):
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.SITE_URL = "http://testserver"
    # Real hashing costs ~0.3 s a password; the suite creates hundreds. What the tests prove
    # about passwords (length, reuse, lockout) does not depend on the hash's cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if not os.environ.get("REDIS_URL"):
        # Keep tests off the file cache a running `make run` uses under var/.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


# --- Personas --------------------------------------------------------------------------------


class World:
    """The cast of the tests, created once per test."""

    def __init__(self):
        from backoffice.roles import Role

        self.loja = make_merchant(name="Loja", slug="loja", nif="501964843")
        self.lisboa = make_store(self.loja, "lisboa", "Lisboa")
        self.porto = make_store(self.loja, "porto", "Porto")
        self.t_lisboa = make_terminal(self.lisboa, 11111)
        self.t_porto = make_terminal(self.porto, 22222)
        self.outra = make_merchant(name="Outra Loja", slug="outra", nif="503504564")
        self.outra_store = make_store(self.outra, "sede", "Sede")
        self.t_outra = make_terminal(self.outra_store, 33333)

        self.alice = make_user("alice@loja.example", "Alice Owner")
        self.adam = make_user("adam@loja.example", "Adam Admin")
        self.bob = make_user("bob@loja.example", "Bob Operator")
        self.fiona = make_user("fiona@loja.example", "Fiona Finance")
        self.victor = make_user("victor@loja.example", "Victor Viewer")
        self.quinn = make_user("quinn@loja.example", "Quinn QR")
        self.paula = make_user("paula@loja.example", "Paula Porto")
        self.mallory = make_user("mallory@outra.example", "Mallory")

        self.m_alice = make_membership(self.alice, self.loja, Role.OWNER)
        self.m_adam = make_membership(self.adam, self.loja, Role.ADMINISTRATOR)
        self.m_bob = make_membership(self.bob, self.loja, Role.OPERATOR)
        self.m_fiona = make_membership(self.fiona, self.loja, Role.FINANCE)
        self.m_victor = make_membership(self.victor, self.loja, Role.VIEWER)
        self.m_quinn = make_membership(self.quinn, self.loja, Role.QR_MANAGER)
        self.m_paula = make_membership(self.paula, self.loja, Role.OPERATOR, stores=[self.porto])
        self.m_mallory = make_membership(self.mallory, self.outra, Role.OWNER)

    def by_role(self, role: str):
        return {
            "owner": self.alice,
            "administrator": self.adam,
            "operator": self.bob,
            "finance": self.fiona,
            "viewer": self.victor,
            "qr_manager": self.quinn,
            "store_operator": self.paula,
        }[role]


@pytest.fixture
def world(db) -> World:
    return World()


@pytest.fixture
def login(client):
    """Sign a persona in (the second factor is tested on its own; here it is taken as done)."""

    def _login(user):
        from tests.factories import give_totp

        give_totp(user)
        client.force_login(user, backend="backoffice.auth_backends.LockoutAwareBackend")
        return client

    return _login


@pytest.fixture
def eager_celery_and_fresh_keyring():
    """Tasks run inline (never a broker under var/), and no cached webhook secret leaks between tests."""
    from backoffice.celery import app as celery_app
    from webhooks.inbound import keyring

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    keyring.invalidate()
    yield
    celery_app.conf.task_always_eager = previous
    keyring.invalidate()
