from datetime import UTC, datetime

from django.db import migrations
from django.db.models import Q

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def forget_impossible_dates(apps, schema_editor):
    # Dates SIBS never sent for a real payment (year 1, 9999) break local-time display: the
    # payload keeps them; the row flags and forgets them, as the parser now does.
    Transaction = apps.get_model("payments", "Transaction")
    TransactionEvent = apps.get_model("payments", "TransactionEvent")
    outside = Q(transaction_datetime__lt=EARLIEST) | Q(transaction_datetime__gte=LATEST)
    for txn in Transaction.objects.filter(outside).only("pk", "warnings"):
        warnings = list(txn.warnings or [])
        warnings.append("payload: transactionDateTime: outside 2000-2099; ignored")
        Transaction.objects.filter(pk=txn.pk).update(transaction_datetime=None, warnings=warnings)
    TransactionEvent.objects.filter(Q(sibs_datetime__lt=EARLIEST) | Q(sibs_datetime__gte=LATEST)).update(
        sibs_datetime=None
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0006_operation_key_creator")]

    operations = [migrations.RunPython(forget_impossible_dates, migrations.RunPython.noop)]
