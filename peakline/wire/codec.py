"""Encoding and decoding of every MQTT payload: one JSON reader, one base model, one registry.

Every payload is a JSON object with a ``schema`` tag (``peakline.<kind>/<version>``). Payload
models subclass :class:`Payload`, which forbids unknown keys, refuses NaN and infinities (they
would serialise as ``null`` and never parse again) and registers the model under its tag, so
:func:`parse_payload` finds the model for any payload of the system.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from peakline.errors import PeaklineError

__all__ = [
    "INT_MAX",
    "MAX_PAYLOAD_BYTES",
    "NAME_PATTERN",
    "SCHEMAS",
    "Count",
    "Name",
    "Payload",
    "Seq",
    "Short",
    "WireError",
    "dump_payload",
    "load_json_object",
    "parse_payload",
]

MAX_PAYLOAD_BYTES = 1_000_000
#: site, line, node, supplier and other names that form one topic level
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
Name = Annotated[str, Field(pattern=NAME_PATTERN.pattern, description="site, line or node name")]
#: the largest integer every store column holds (PostgreSQL ``integer`` is 32-bit)
INT_MAX = 2**31 - 1
#: a count or index the plant stores: 0 .. INT_MAX
Count = Annotated[int, Field(ge=0, le=INT_MAX)]
#: a sequence number: 1 .. INT_MAX
Seq = Annotated[int, Field(ge=1, le=INT_MAX)]
#: a short identifier the plant stores in a 64-character column (boot id, defect name)
Short = Annotated[str, Field(max_length=64)]

#: schema tag -> payload model, filled as payload models are defined
SCHEMAS: dict[str, type[Payload]] = {}

P = TypeVar("P", bound="Payload")


class WireError(PeaklineError, ValueError):
    """A payload or topic that does not follow the wire contract."""


class Payload(BaseModel):
    """Base of every payload: strict, frozen, and registered under its ``schema`` tag."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )
    schema_tag: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("schema_")
        if field is not None and isinstance(field.default, str):
            cls.schema_tag = field.default
            SCHEMAS[field.default] = cls


def load_json_object(raw: bytes | str) -> dict[str, Any]:
    """Parse a payload into a JSON object, within the size limit; WireError saying why not."""
    if isinstance(raw, str):
        try:
            raw = raw[: MAX_PAYLOAD_BYTES + 1].encode()  # the limit is in bytes
        except UnicodeEncodeError as exc:
            raise WireError(f"not UTF-8 text: {exc}") from exc
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise WireError(f"payload exceeds {MAX_PAYLOAD_BYTES} bytes")
    from pydantic_core import from_json

    # pydantic's JSON parser, not json.loads: json.loads raised RecursionError on deeply nested
    # input and accepted NaN and lone surrogates that no payload can be written back with.
    try:
        data = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise WireError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise WireError("payload is not a JSON object")
    return data


def parse_payload(raw: bytes | str, expect: type[P] | None = None) -> P | Payload:
    """Validate a JSON payload against its declared schema; raise WireError saying why not."""
    data = load_json_object(raw)
    tag = data.get("schema")
    model = SCHEMAS.get(tag) if isinstance(tag, str) else None
    if model is None:
        raise WireError(f"unknown schema {tag!r}")
    if expect is not None and model is not expect:
        raise WireError(f"expected {expect.__name__}, got schema {tag!r}")
    try:
        return model.model_validate(data)
    except ValueError as exc:
        raise WireError(f"invalid {tag}: {exc}") from exc


def dump_payload(payload: Payload) -> bytes:
    """Serialise a payload with its ``schema`` tag."""
    return payload.model_dump_json(by_alias=True).encode()
