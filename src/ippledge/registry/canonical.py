"""The registry's one canonical JSON form (sorted keys, no spaces, UTF-8): what is hashed, signed and
sealed, so the same content always gives the same bytes."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def canonical(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
