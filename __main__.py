"""Protect the stack's APIs behind Kong with the Frontegg workspace configured for this stack."""

import pulumi

from components import FronteggTrust, ProtectedApi, stack_config

settings = stack_config.read_current()  # every key checked before anything is declared

with stack_config.as_configured():  # errors name keys as the stack config does
    trust = FronteggTrust("frontegg", settings.trust)
    apis = {name: ProtectedApi(name, args) for name, args in settings.apis.items()}

if settings.single:
    api = apis[stack_config.SINGLE_API_NAME]
    pulumi.export("serviceId", api.service_id)
    pulumi.export("routeId", api.route_id)
    pulumi.export("pluginId", api.plugin_id)
pulumi.export(
    "apis",
    {
        name: {"serviceId": api.service_id, "routeId": api.route_id, "pluginId": api.plugin_id, "corsPluginId": api.cors_plugin_id}
        for name, api in apis.items()
    },
)
pulumi.export("consumerId", trust.consumer_id)
pulumi.export("credentialIds", trust.credential_ids)
pulumi.export("issuers", trust.issuers)
pulumi.export("publicKeyFingerprint", trust.public_key_fingerprint)
pulumi.export("publicKeyId", trust.public_key_id)
