"""The ``ippledge`` console script: Django management commands with the project settings preset.

Two-word commands (``ippledge import rights FILE``, ``ippledge registry verify``) map onto the
management commands ``import_rights`` and ``registry_verify``.
"""

from __future__ import annotations

import os
import sys

TWO_WORD = {"import", "registry", "report"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ippledge.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] in TWO_WORD and not args[1].startswith("-"):
        args = [f"{args[0]}_{args[1]}", *args[2:]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ippledge", *args])


if __name__ == "__main__":
    main()
