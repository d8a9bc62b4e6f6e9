"""JSON exactly as Go's encoding/json writes it: what the Kong provider stores for a plugin config, and what the
Pulumi CLI hands a program for an object or array config value. The same input gives the same bytes on every run."""

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_GO_ESCAPES = {"&": "\\u0026", "<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_float(number: float) -> str:
    """A float as Go writes it: plain digits from 1e-6 to 1e21, else an exponent; 3600.0 is 3600."""
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{number} is not a number JSON can hold")
    if number == 0 or 1e-6 <= abs(number) < 1e21:
        text = format(Decimal(repr(number)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return repr(number).replace("e-0", "e-")


def go_key(key: object) -> str:
    """A map key as Go's fmt %v writes it (YAML may give booleans and numbers as keys)."""
    return ("true" if key else "false") if isinstance(key, bool) else str(key)


def go_json(value: object) -> str:
    """Go's json.Marshal of a decoded JSON or YAML value: sorted keys, compact, UTF-8 kept, &, <, >, U+2028/9 escaped."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return "".join(_GO_ESCAPES.get(char, char) for char in json.dumps(value, ensure_ascii=False))
    if isinstance(value, list):
        return "[" + ",".join(go_json(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = sorted((go_key(key), item) for key, item in value.items())
        return "{" + ",".join(f"{go_json(key)}:{go_json(item)}" for key, item in items) + "}"
    raise ValueError(f"a {type(value).__name__} value, which JSON cannot hold")


def plugin_json(config: Mapping[str, Any]) -> str:
    """A plugin config exactly as the provider stores it: no diff after a refresh.

    The provider normalises config_json with Go's json.Marshal of a map (terraform-provider-kong 6.5.1,
    kong/resource_kong_plugin.go:55, 278-296), and a strict Read stores Kong's config the same way (:165-169, 255-266).
    """
    return go_json(config)
