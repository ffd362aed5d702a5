#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cronofy_site.settings")
    from django.core.management import execute_from_command_line

    from core.runtime import tune_garbage_collection

    tune_garbage_collection()  # runserver and the task clusters (qcluster) are long-running too
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
