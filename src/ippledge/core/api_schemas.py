"""Field types the API's response schemas share.

Many answers carry values the routes render as text: dates and times as ISO 8601 strings, money and
rates as decimal strings (never floats).  These types take the value as the route gives it (the text,
or the ``date``/``datetime``/``Decimal`` the JSON encoder renders as that same text), leave it as it is,
and tell the OpenAPI document what it is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, WithJsonSchema

IsoDate = Annotated[dt.date | str, WithJsonSchema({"type": "string", "format": "date"})]
IsoDateTime = Annotated[dt.datetime | str, WithJsonSchema({"type": "string", "format": "date-time"})]
Money = Annotated[Decimal | str, WithJsonSchema(
    {"type": "string", "description": "decimal amount in yuan, as text (e.g. 1000000.00)"})]
DecimalText = Annotated[Decimal | str, WithJsonSchema({"type": "string", "description": "decimal number as text"})]


class OpenSchema(BaseModel):
    """An answer whose named fields are always there and whose further fields depend on the case (a
    valuation method's own figures, a scheme's own parts): those further fields are passed on as given.
    (A plain pydantic model: ninja's ``Schema`` drops fields it does not declare.)"""

    model_config = ConfigDict(extra="allow")
