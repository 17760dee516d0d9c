"""PGP-encrypted settlement files, decrypted with a real GnuPG and the merchant's key."""

from __future__ import annotations

import io
import subprocess

import gnupg
import pytest

from reconciliation.models import ImportOutcome, ReconciliationSettings, SettlementFile
from tests.reconciliation.support import csv_bytes, do_import, line, make_txn

pytestmark = [pytest.mark.django_db, pytest.mark.gnupg]
PASSPHRASE = "settlement-key-passphrase"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """A throw-away key pair: SIBS encrypts to the public key, the merchant holds the private."""
    home = tmp_path_factory.mktemp("gpg")
    gpg = gnupg.GPG(gnupghome=str(home))
    key = gpg.gen_key(
        gpg.gen_key_input(
            name_email="finance@loja.example",
            passphrase=PASSPHRASE,
            key_type="RSA",
            key_length=2048,
            no_protection=False,
        )
    )
    assert key.fingerprint
    yield {
        "gpg": gpg,
        "fingerprint": key.fingerprint,
        "private": gpg.export_keys(key.fingerprint, secret=True, passphrase=PASSPHRASE),
    }
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False, capture_output=True)


def encrypt(keys, data: bytes, *, armor: bool) -> bytes:
    result = keys["gpg"].encrypt(data, keys["fingerprint"], armor=armor, always_trust=True)
    assert result.ok, result.status
    return result.data


@pytest.mark.parametrize("armor", [True, False])
def test_an_encrypted_file_is_decrypted_and_imported(world, keys, armor):
    ReconciliationSettings.objects.create(
        merchant=world.loja, pgp_private_key=keys["private"], pgp_passphrase=PASSPHRASE
    )
    make_txn(world.t_lisboa, "A1")
    content = encrypt(keys, csv_bytes(line("A1")), armor=armor)
    result = do_import(world.loja, content, name="SIBS_Reconciliation_20261202001500.csv.pgp")
    assert result.imported, result.errors
    assert result.file.was_encrypted and result.file.line_count == 1


def test_without_a_key_the_file_is_refused(world, keys):
    content = encrypt(keys, csv_bytes(line("A1")), armor=False)
    result = do_import(world.loja, content)
    assert result.outcome == ImportOutcome.REFUSED
    assert "no PGP private key" in result.errors[0].message
    assert not SettlementFile.objects.exists()


def test_a_wrong_passphrase_is_refused_clearly(world, keys):
    ReconciliationSettings.objects.create(merchant=world.loja, pgp_private_key=keys["private"], pgp_passphrase="wrong")
    result = do_import(world.loja, encrypt(keys, csv_bytes(line("A1")), armor=True))
    assert result.outcome == ImportOutcome.REFUSED
    assert "could not be decrypted" in result.errors[0].message


def test_a_plain_file_is_not_mistaken_for_pgp():
    from reconciliation.services.pgp import looks_encrypted

    assert not looks_encrypted(io.BytesIO(b"\xef\xbb\xbf2026-12-02;P;T;"))
    assert not looks_encrypted(io.BytesIO(b'"2026-12-02";"P"'))
    assert looks_encrypted(io.BytesIO(b"-----BEGIN PGP MESSAGE-----\n"))
    assert looks_encrypted(io.BytesIO(b"\x85\x01\x0c\x03"))  # old-format public-key session key packet
