"""Input models whose strings are stripped, with a JSON Schema that tells the truth.

`StrippedInput` strips surrounding blanks from every string field (people paste them), and
keeps both bounds of the schema true of what is sent: `maxLength` holds for the text as
sent (a longer value is refused even if it would fit once stripped), and `minLength` counts
non-blank text, which the schema says with a pattern (`"   "` does not satisfy
`minLength: 1` once stripped, so the schema must not promise it does)."""

from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel, ConfigDict, model_validator

#: What `str.strip()` removes, spelled out: regex engines disagree on what `\s` means.
BLANKS = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3001)) if c.isspace())
#: No text anywhere may hold NUL (PostgreSQL cannot store it; the gateway refuses it).
ANY = "[^\\u0000]"
BLANK, FILLED = f"[{BLANKS}]", f"[^{BLANKS}\\u0000]"
NO_NUL = f"^{ANY}*$"


def _needs_content(schema: dict[str, Any]) -> None:
    if schema.get("type") != "string" or "pattern" in schema or "format" in schema:
        return
    least = int(schema.get("minLength", 0))
    if least == 1:
        schema["pattern"] = f"^{BLANK}*{FILLED}{ANY}*$"
    elif least >= 2:
        schema["pattern"] = f"^{BLANK}*{FILLED}{ANY}{{{least - 2},}}{FILLED}{BLANK}*$"


def stripped_strings(schema: dict[str, Any], model: type) -> None:
    """`json_schema_extra` of stripped input models (see the module's doc)."""
    for prop in schema.get("properties", {}).values():
        _needs_content(prop)
        for option in prop.get("anyOf", []):
            _needs_content(option)


STRIPPED_INPUT = ConfigDict(
    extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_strings
)


class StrippedInput(BaseModel):
    model_config = STRIPPED_INPUT

    @model_validator(mode="before")
    @classmethod
    def _max_length_as_sent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                value = data.get(field.alias or name)
                limit = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)
                if isinstance(value, str) and limit is not None and len(value) > limit:
                    raise ValueError(f"{name}: at most {limit} characters (as sent)")
        return data


def forbid_nul(node: Any) -> None:
    """Say in a JSON Schema (or a whole OpenAPI document) that no free text holds NUL: every
    string schema without a pattern, format or fixed values gets `NO_NUL`, and so do the
    keys of free-form objects."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):
            node["pattern"] = NO_NUL
        if node.get("type") == "object" and node.get("additionalProperties") not in (None, False):
            node.setdefault("propertyNames", {}).setdefault("pattern", NO_NUL)  # keys are text
        for value in node.values():
            forbid_nul(value)
    elif isinstance(node, list):
        for value in node:
            forbid_nul(value)


def left_out_if_unchanged(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a field that may be left out but not sent as null: its
    internal default (None, "unchanged") is not a value a client may send."""
    schema.pop("default", None)
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema.update({**options[0], **{k: v for k, v in schema.items() if k != "type"}})
