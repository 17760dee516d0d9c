"""One e-mail per file with exceptions, to the merchant's Finance people, in their language."""

from __future__ import annotations

import pytest
from django.core import mail

from reconciliation.services.notify import notify_file_exceptions
from tests.reconciliation.support import csv_bytes, do_import, line, make_txn

pytestmark = pytest.mark.django_db


def test_a_file_with_exceptions_sends_one_message_to_finance(
    world, django_capture_on_commit_callbacks, eager_celery_and_fresh_keyring
):
    make_txn(world.t_lisboa, "A1", "19.99")
    world.fiona.language = "pt"
    world.fiona.save()
    with django_capture_on_commit_callbacks(execute=True):
        result = do_import(world.loja, csv_bytes(line("A1"), line("GHOST")))
    assert [m.to for m in mail.outbox] == [["fiona@loja.example"]]
    message = mail.outbox[0]
    assert result.file.name in message.subject
    assert "Diferença de montante: 1" in message.body and "/m/loja/reconciliation/exceptions/" in message.body
    # once per file, however often it is asked
    assert notify_file_exceptions(settlement_file_id=result.file.pk) == 0
    with django_capture_on_commit_callbacks(execute=True):
        do_import(world.loja, csv_bytes(line("A1"), line("GHOST")))
    assert len(mail.outbox) == 1


def test_a_clean_file_sends_nothing(world, django_capture_on_commit_callbacks, eager_celery_and_fresh_keyring):
    make_txn(world.t_lisboa, "A1")
    with django_capture_on_commit_callbacks(execute=True):
        do_import(world.loja, csv_bytes(line("A1")))
    assert mail.outbox == []
