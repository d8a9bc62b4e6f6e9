"""Plugin config JSON exactly as the Kong provider stores it, so the same config never shows as a change."""

import json
from collections.abc import Mapping
from typing import Any

_GO_ESCAPES = {"&": "\\u0026", "<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def plugin_json(config: Mapping[str, Any]) -> str:
    """A plugin config exactly as the provider stores it: byte-identical every run, and no diff after a refresh.

    The provider normalises config_json with Go's json.Marshal of a map (terraform-provider-kong 6.5.1,
    kong/resource_kong_plugin.go:55, 278-296), and a strict Read stores Kong's config the same way (:165-169, 255-266):
    keys sorted, compact, UTF-8 kept, and &, <, >, U+2028, U+2029 escaped.
    """
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "".join(_GO_ESCAPES.get(char, char) for char in text)
