"""``makemessages`` that also extracts ``N_("…")`` markers from the pure (Django-free) modules."""

from django.core.management.commands.makemessages import Command as MakeMessages


class Command(MakeMessages):
    xgettext_options = [*MakeMessages.xgettext_options, "--keyword=N_"]
