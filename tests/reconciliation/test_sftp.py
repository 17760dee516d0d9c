"""SFTP pickup against a real OpenSSH server on loopback: pinned host key, files still being
written left alone, a changed host key refused and reported."""

from __future__ import annotations

import os
import time

import pytest

from backoffice.models import AuditEvent
from reconciliation.models import ImportAttempt, ReconciliationSettings, SettlementFile
from reconciliation.services import sftp
from tests.reconciliation import sshd as sshd_support
from tests.reconciliation.support import csv_bytes, line, make_txn

pytestmark = [pytest.mark.django_db, pytest.mark.sshd]


@pytest.fixture(scope="module")
def running_server(tmp_path_factory):
    server = sshd_support.start(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def server(running_server):
    for path in running_server.remote.iterdir():
        path.unlink()
    return running_server


@pytest.fixture(autouse=True)
def _quick_probe(monkeypatch):
    monkeypatch.setattr(sftp, "PROBE_SECONDS", 0.2)


@pytest.fixture
def settings_for(world, server):
    return ReconciliationSettings.objects.create(
        merchant=world.loja,
        sftp_enabled=True,
        sftp_host="127.0.0.1",
        sftp_port=server.port,
        sftp_username=server.user,
        sftp_private_key=server.client_key,
        sftp_remote_dir=str(server.remote),
    )


def put(server, name: str, data: bytes, *, age_seconds: int = 0) -> None:
    path = server.remote / name
    path.write_bytes(data)
    if age_seconds:
        then = time.time() - age_seconds
        os.utime(path, (then, then))


def test_stable_and_marked_files_are_taken_a_file_being_written_is_left(world, server, settings_for):
    make_txn(world.t_lisboa, "A1")
    put(
        server,
        "SIBS_Reconciliation_20261201001500.csv",
        csv_bytes(line("A1", settlement_date="2026-12-01")),
        age_seconds=300,
    )
    put(server, "SIBS_Reconciliation_20261202001500.csv", csv_bytes(line("B1")))
    put(server, "SIBS_Reconciliation_20261202001500.csv.done", b"")
    put(server, "SIBS_Reconciliation_20261203001500.csv", csv_bytes(line("C1", settlement_date="2026-12-03")))
    put(server, "unrelated.txt", b"hello", age_seconds=300)

    report = sftp.pickup(settings_id=settings_for.pk)

    assert report.error == ""
    assert report.imported == ["SIBS_Reconciliation_20261201001500.csv", "SIBS_Reconciliation_20261202001500.csv"]
    assert report.waiting == ["SIBS_Reconciliation_20261203001500.csv"]
    assert set(SettlementFile.objects.values_list("source", flat=True)) == {"sftp"}
    settings_for.refresh_from_db()
    assert settings_for.sftp_host_key == " ".join(server.host_key_pub.split()[:2])
    assert settings_for.sftp_host_key_fingerprint.startswith("SHA256:")
    # the next run takes the file once it is stable, and nothing twice
    put(
        server,
        "SIBS_Reconciliation_20261203001500.csv",
        csv_bytes(line("C1", settlement_date="2026-12-03")),
        age_seconds=300,
    )
    again = sftp.pickup(settings_id=settings_for.pk)
    assert again.imported == ["SIBS_Reconciliation_20261203001500.csv"]
    assert SettlementFile.objects.count() == 3


def test_a_refused_file_is_reported_once_and_not_fetched_again(world, server, settings_for):
    put(server, "SIBS_Reconciliation_20261201001500.csv", b"not;a;settlement\n", age_seconds=300)
    first = sftp.pickup(settings_id=settings_for.pk)
    second = sftp.pickup(settings_id=settings_for.pk)
    assert first.refused == ["SIBS_Reconciliation_20261201001500.csv"] and second.refused == []
    assert ImportAttempt.objects.filter(outcome="refused").count() == 1


def test_a_different_host_key_is_refused_and_reported(world, server, settings_for):
    put(server, "SIBS_Reconciliation_20261201001500.csv", csv_bytes(line("A1")), age_seconds=300)
    ReconciliationSettings.objects.filter(pk=settings_for.pk).update(
        sftp_host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxvb2tzIGxpa2UgYSBrZXkgYnV0IGl0IGlzIG5vdA==",
        sftp_host_key_fingerprint="SHA256:pinned",
    )
    report = sftp.pickup(settings_id=settings_for.pk)
    assert "not the pinned SHA256:pinned" in report.error
    assert not SettlementFile.objects.exists()
    settings_for.refresh_from_db()
    assert "refused" in settings_for.sftp_last_error
    assert AuditEvent.objects.filter(action="reconciliation.sftp_host_key_mismatch").exists()


def test_a_wrong_key_for_the_login_is_reported(world, server, settings_for, tmp_path):
    other = tmp_path / "other"
    sshd_support._keygen(other)
    ReconciliationSettings.objects.filter(pk=settings_for.pk).update(sftp_private_key=other.read_text())
    report = sftp.pickup(settings_id=settings_for.pk)
    assert "refused the login" in report.error


def test_an_unreachable_server_is_reported(world, settings_for):
    ReconciliationSettings.objects.filter(pk=settings_for.pk).update(sftp_port=sshd_support._free_port())
    report = sftp.pickup(settings_id=settings_for.pk)
    assert "cannot connect" in report.error
