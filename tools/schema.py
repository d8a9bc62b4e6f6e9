"""Print the Pulumi package schema exactly as the component provider serves it (GetSchema), as sorted, indented JSON.

    python -m tools.schema          (make schema)

This is what `pulumi package add` generates every other language's SDK from; docs/components.md explains its shape.
"""

import json

from components.provider import schema


def schema_json() -> str:
    """The served schema, keys sorted and indented so that a change to it reads as a small diff."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_json(), end="")
