"""Field-level explanations of a difference: "gross amount: 20.00 € in the file, 19.99 € here"."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from payments.models import Transaction
from reconciliation.models import SettlementLine
from reconciliation.services.matching import MONEY_IN_STATES, MONEY_OUT_STATES


@dataclass(frozen=True)
class Difference:
    field: str
    in_file: str
    here: str
    differs: bool

    def sentence(self) -> str:
        return _("%(field)s: %(file)s in the file, %(here)s here") % {
            "field": self.field,
            "file": self.in_file,
            "here": self.here,
        }


def _money(value, currency: str) -> str:
    from payments.templatetags.payments import format_money

    return format_money(value, currency) if value is not None else "—"


def compare(line: SettlementLine, txn: Transaction | None) -> list[Difference]:
    """Both sides, field by field; ``differs`` marks what disagrees."""
    if txn is None:
        return []
    rows = []
    gross_here = -txn.amount if (txn.amount is not None and line.gross_amount < 0) else txn.amount
    rows.append(
        Difference(
            _("gross amount"),
            _money(line.gross_amount, line.currency),
            _money(gross_here, txn.currency or line.currency),
            txn.amount is None or abs(line.gross_amount) != txn.amount,
        )
    )
    rows.append(Difference(_("currency"), line.currency, txn.currency or "—", line.currency != txn.currency))
    good = MONEY_OUT_STATES if line.gross_amount < 0 else MONEY_IN_STATES
    rows.append(
        Difference(
            _("status"),
            _("settled"),
            str(txn.get_state_display()),
            txn.state not in good,
        )
    )
    rows.append(
        Difference(
            _("terminal"),
            str(line.terminal_number or "—"),
            str(txn.terminal_number or "—"),
            bool(line.terminal_number and txn.terminal_number and line.terminal_number != txn.terminal_number),
        )
    )
    rows.append(
        Difference(
            _("merchant transaction id"),
            line.merchant_transaction_id or "—",
            txn.merchant_transaction_id or "—",
            False,
        )
    )
    return rows


def explain(line: SettlementLine | None, txn: Transaction | None) -> list[str]:
    if line is None:
        return []
    if txn is None:
        return [_("no transaction here has SIBS id %(id)s") % {"id": line.sibs_transaction_id}]
    return [d.sentence() for d in compare(line, txn) if d.differs]
