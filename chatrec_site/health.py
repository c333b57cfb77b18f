"""GET /healthz: whether this web process can serve, for a load balancer, a supervisor or an operator.

The answer names the process (`pid`), so behind one address (`bin/serve-multi`) one can tell which process
answered. 200 when the database answers, 503 when it does not; nothing is written.
"""
from __future__ import annotations

import os

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - any database failure is "not ready", with its kind
        database = type(exc).__name__
    ok = database == "ok"
    return JsonResponse({"status": "ok" if ok else "unavailable", "pid": os.getpid(), "database": database},
                        status=200 if ok else 503)
