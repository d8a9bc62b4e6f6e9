"""Protect one API behind Kong with the Frontegg workspace configured for this stack."""

import pulumi

from components import FronteggTrust, ProtectedApi, stack_config

settings = stack_config.read(stack_config.current())

trust = FronteggTrust("frontegg", settings.trust)
api = ProtectedApi("api", settings.api)

pulumi.export("serviceId", api.service_id)
pulumi.export("routeId", api.route_id)
pulumi.export("pluginId", api.plugin_id)
pulumi.export("consumerId", trust.consumer_id)
pulumi.export("credentialIds", trust.credential_ids)
pulumi.export("issuers", trust.issuers)
pulumi.export("publicKeyFingerprint", trust.public_key_fingerprint)
pulumi.export("publicKeyId", trust.public_key_id)
