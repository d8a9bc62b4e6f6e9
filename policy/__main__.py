"""The policy pack `pulumi preview/up --policy-pack policy` runs; the rules live in kong_jwt_rules.py."""

from kong_jwt_rules import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="kong-frontegg-jwt",
    description="Kong routes admit only valid Frontegg JWTs: every route has a jwt plugin, credentials and plugins are safe.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
)
