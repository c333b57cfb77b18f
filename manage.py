#!/usr/bin/env python
"""Django's command-line utility for ChatRec."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")
    from django.core.management import execute_from_command_line

    from chatrec_site.envconfig import settings_or_exit

    settings_or_exit()
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:  # e.g. DATABASE_URL names a server that does not answer
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SystemExit(f"ChatRec database error (check DATABASE_URL): {first}") from None


if __name__ == "__main__":
    main()
