"""GET /sandbox/settlement-file: the sandbox's settlement file of a day, with differences on request.

``?terminal=<SIBS terminal id>&date=YYYY-MM-DD&differences=cent,unknown`` (terminal optional
when one client is configured; date defaults to today, whose file holds yesterday's payments).
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from .models import SandboxMerchant
from .settlement import DIFFERENCES, settlement_file
from .views import sandbox_endpoint


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@sandbox_endpoint
def download(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return _error("GET only.", 405)
    raw_day = request.GET.get("date", "")
    try:
        day = date.fromisoformat(raw_day) if raw_day else timezone.now().date()
    except ValueError:
        return _error("date must be YYYY-MM-DD.")
    differences = tuple(d for d in request.GET.get("differences", "").split(",") if d)
    if set(differences) - set(DIFFERENCES):
        return _error(f"differences are among: {', '.join(DIFFERENCES)}.")
    merchants = list(SandboxMerchant.objects.order_by("pk"))
    terminal = request.GET.get("terminal", "")
    if terminal:
        if not terminal.isdigit():
            return _error("terminal must be digits.")
        merchants = [m for m in merchants if int(terminal) in (m.terminal_ids or [])]
    if len(merchants) != 1:
        return _error("Name one terminal of a configured client (?terminal=…).", 404 if not merchants else 400)
    name, content = settlement_file(merchants[0], day, differences)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
