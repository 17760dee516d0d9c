"""Pick settlement files up from an SFTP server, the way SIBS delivers them.

- **Host key pinned on first use.** The first connection stores the server's key and its
  SHA-256 fingerprint (shown on the settings page); any later connection presenting another
  key is refused before authenticating, and the error is kept and shown.
- **A file still being written is left alone.** A file is taken when a marker file
  ``<name>.done`` (or ``<name>.ok``) exists next to it, or else when its size is *stable*:
  last modified at least ``STABLE_AGE_SECONDS`` ago and the same size on a second look
  ``PROBE_SECONDS`` later.
- **No network call inside a database transaction.** Files are downloaded to temporary files,
  the connection is closed, then each is imported (``services.importing``), which is
  idempotent: a file already imported, or already refused, is not fetched again.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import logging
import posixpath
import stat
import tempfile
import time
from dataclasses import dataclass, field

import paramiko
from django.utils import timezone

from backoffice.audit import SYSTEM
from backoffice.audit import record as audit
from reconciliation.models import (
    FileSource,
    ImportAttempt,
    ImportOutcome,
    ReconciliationSettings,
    SettlementFile,
)

log = logging.getLogger(__name__)

STABLE_AGE_SECONDS = 60
PROBE_SECONDS = 2.0
CONNECT_TIMEOUT = 15
MAX_FILES_PER_RUN = 50
MARKER_SUFFIXES = (".done", ".ok")


class PickupError(Exception):
    pass


@dataclass
class PickupReport:
    imported: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    error: str = ""


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _load_private_key(text: str) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise PickupError("the stored SFTP private key could not be read (OpenSSH or PEM, without a passphrase)")


def _connect(settings: ReconciliationSettings) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
    try:
        transport = paramiko.Transport((settings.sftp_host, settings.sftp_port))
        transport.banner_timeout = CONNECT_TIMEOUT
        transport.start_client(timeout=CONNECT_TIMEOUT)
    except (OSError, paramiko.SSHException) as exc:
        raise PickupError(f"cannot connect to {settings.sftp_host}:{settings.sftp_port}: {exc}") from None
    key = transport.get_remote_server_key()
    presented = f"{key.get_name()} {key.get_base64()}"
    if settings.sftp_host_key and settings.sftp_host_key != presented:
        transport.close()
        audit(
            actor=SYSTEM,
            action="reconciliation.sftp_host_key_mismatch",
            merchant=settings.merchant,
            obj=settings,
            before={"fingerprint": settings.sftp_host_key_fingerprint},
            after={"fingerprint": fingerprint(key)},
        )
        raise PickupError(
            f"the server presented host key {fingerprint(key)}, not the pinned "
            f"{settings.sftp_host_key_fingerprint}; refused (forget the pinned key in the settings if "
            "the server's key really changed)"
        )
    if not settings.sftp_host_key:
        ReconciliationSettings.objects.filter(pk=settings.pk, sftp_host_key="").update(
            sftp_host_key=presented, sftp_host_key_fingerprint=fingerprint(key)
        )
        settings.sftp_host_key, settings.sftp_host_key_fingerprint = presented, fingerprint(key)
    try:
        if settings.sftp_private_key:
            transport.auth_publickey(settings.sftp_username, _load_private_key(settings.sftp_private_key))
        else:
            transport.auth_password(settings.sftp_username, settings.sftp_password)
        return transport, paramiko.SFTPClient.from_transport(transport)
    except paramiko.SSHException as exc:
        transport.close()
        raise PickupError(f"the SFTP server refused the login: {exc}") from None


def _already_seen(settings: ReconciliationSettings, names: list[str]) -> set[str]:
    imported = set(
        SettlementFile.objects.filter(merchant_id=settings.merchant_id, name__in=names).values_list("name", flat=True)
    )
    refused = set(
        ImportAttempt.objects.filter(
            merchant_id=settings.merchant_id, source=FileSource.SFTP, file_name__in=names
        ).values_list("file_name", flat=True)
    )
    return imported | refused


def _ready(
    sftp: paramiko.SFTPClient, folder: str, candidates: dict, present: set[str], now: float
) -> tuple[list[str], list[str]]:
    """Which candidate files may be taken now, and which are left for the next run."""
    ready, waiting, probe = [], [], []
    for name, attrs in candidates.items():
        if any(f"{name}{suffix}" in present for suffix in MARKER_SUFFIXES):
            ready.append(name)
        elif now - (attrs.st_mtime or 0) >= STABLE_AGE_SECONDS:
            probe.append(name)
        else:
            waiting.append(name)
    if probe:
        time.sleep(PROBE_SECONDS)
        for name in probe:
            again = sftp.stat(posixpath.join(folder, name))
            if again.st_size == candidates[name].st_size and again.st_mtime == candidates[name].st_mtime:
                ready.append(name)
            else:
                waiting.append(name)
    return sorted(ready), sorted(waiting)


def pickup(*, settings_id: int) -> PickupReport:
    from reconciliation.services.importing import settlement_file_import

    settings = ReconciliationSettings.objects.select_related("merchant").get(pk=settings_id)
    report = PickupReport()
    downloads: list[tuple[str, tempfile.SpooledTemporaryFile]] = []
    try:
        if not settings.sftp_host:
            raise PickupError("no SFTP host is configured")
        transport, sftp = _connect(settings)
        try:
            folder = settings.sftp_remote_dir or "."
            listing = {a.filename: a for a in sftp.listdir_attr(folder) if stat.S_ISREG(a.st_mode or 0)}
            names = [
                n for n in listing if fnmatch.fnmatch(n, settings.sftp_pattern) and not n.endswith(MARKER_SUFFIXES)
            ]
            seen = _already_seen(settings, names)
            candidates = {n: listing[n] for n in names if n not in seen}
            ready, report.waiting = _ready(sftp, folder, candidates, set(listing), time.time())
            for name in ready[:MAX_FILES_PER_RUN]:
                handle = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - closed below
                sftp.getfo(posixpath.join(folder, name), handle)
                handle.seek(0)
                downloads.append((name, handle))
        finally:
            sftp.close()
            transport.close()
        for name, handle in downloads:
            result = settlement_file_import(
                merchant=settings.merchant, name=name, stream=handle, source=FileSource.SFTP, actor=SYSTEM
            )
            if result.outcome == ImportOutcome.REFUSED:
                report.refused.append(name)
            elif result.outcome == ImportOutcome.IMPORTED:
                report.imported.append(name)
    except (PickupError, OSError, paramiko.SSHException) as exc:
        report.error = str(exc)
        log.warning("SFTP pickup for %s failed: %s", settings.merchant, exc)
    finally:
        for _, handle in downloads:
            handle.close()
    ReconciliationSettings.objects.filter(pk=settings.pk).update(
        sftp_last_run_at=timezone.now(), sftp_last_error=report.error
    )
    return report
