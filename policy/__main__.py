"""The policy pack `pulumi preview/up --policy-pack policy` runs; the rules live in kong_jwt_rules.py.

The CLI runs this file with policy/ as its directory, so both imports below are the pack's own modules:
weakening.py is the generated copy of components/weakening.py, the one definition of a weakened jwt plugin.
"""

from kong_jwt_rules import policies
from pulumi_policy import EnforcementLevel, PolicyPack
from weakening import WEAKENINGS

PolicyPack(
    name="kong-frontegg-jwt",
    description="Kong routes admit only valid Frontegg JWTs: every route has an enabled jwt plugin, and plugins and "
    "credentials are no weaker than the product's defaults.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(WEAKENINGS),
)
