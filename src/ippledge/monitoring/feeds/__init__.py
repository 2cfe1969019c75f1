"""Legal-status feeds: official events for rights already in the register, read from JSON Lines, CSV
or the EPO OPS INPADOC legal-status XML, matched to the register in bulk and recorded through the
rights register (``importer``).  ``readers`` and ``numbers`` are pure (no Django)."""
