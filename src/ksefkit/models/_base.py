"""The base class of every wire model: camelCase aliases, tolerant parsing, ``to_wire()``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["KsefModel"]


class KsefModel(BaseModel):
    """A KSeF JSON object: snake_case attributes, camelCase on the wire.

    Unknown properties are ignored (KSeF adds fields without notice) and string enums are
    typed ``str`` so a value added by KSeF never fails parsing; the ``StrEnum`` classes next
    to the models name the known values.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=False,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready body KSeF expects: camelCase keys, ``None`` fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
