"""PGP decryption of settlement files with the merchant's private key, through GnuPG.

Each decryption uses a throw-away GnuPG home (the key is imported, used once and removed with
it), so no key ring persists on the machine and two merchants' keys never meet.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import gnupg

# OpenPGP packets a message starts with: public-key (1) or symmetric-key (3) encrypted session key.
_SESSION_KEY_TAGS = {1, 3}


class DecryptionError(Exception):
    pass


def looks_encrypted(stream: BinaryIO) -> bool:
    stream.seek(0)
    head = stream.read(64)
    stream.seek(0)
    if head.lstrip().startswith(b"-----BEGIN PGP MESSAGE-----"):
        return True
    if not head or not head[0] & 0x80:
        return False
    first = head[0]
    tag = first & 0x3F if first & 0x40 else (first >> 2) & 0x0F
    return tag in _SESSION_KEY_TAGS


@contextmanager
def decrypted(stream: BinaryIO, *, private_key: str, passphrase: str = "") -> Iterator[BinaryIO]:
    """The clear text of ``stream`` as a temporary file, removed on exit."""
    home = tempfile.mkdtemp(prefix="recon-gpg-")
    out_path = None
    try:
        gpg = gnupg.GPG(gnupghome=home)
        imported = gpg.import_keys(private_key, passphrase=passphrase or None)
        if not imported.sec_imported and not any(r.get("ok") for r in imported.results):
            raise DecryptionError("the configured PGP private key could not be read")
        with tempfile.NamedTemporaryFile(prefix="recon-clear-", delete=False) as out:
            out_path = out.name
        stream.seek(0)
        result = gpg.decrypt_file(stream, passphrase=passphrase or None, output=out_path, always_trust=True)
        if not result.ok:
            raise DecryptionError(result.status or "GnuPG could not decrypt it")
        with open(out_path, "rb") as clear:
            yield clear
    finally:
        subprocess.run(  # noqa: S603 - fixed arguments, our own temporary home
            ["gpgconf", "--homedir", home, "--kill", "gpg-agent"],  # noqa: S607
            check=False,
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)
        if out_path is not None and os.path.exists(out_path):
            os.unlink(out_path)
