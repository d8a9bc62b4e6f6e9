// Kong + Frontegg JWT from TypeScript: one trust for the workspace, two protected APIs on it, one of them called from
// a browser app (CORS). The same program as ../yaml/Pulumi.yaml. `pulumi package add` generates the SDK imported below.
import * as pulumi from "@pulumi/pulumi";
import * as kong from "@pulumi/kong";
import * as kongFronteggJwt from "@pulumi/kong-frontegg-jwt";

const config = new pulumi.Config();
const gateway = new kong.Provider("gateway", { kongAdminUri: config.require("kongAdminUri") });
// The components create Kong resources: they take the caller's kong provider from this map.
const onGateway: pulumi.ComponentResourceOptions = { providers: { kong: gateway } };

const frontegg = new kongFronteggJwt.FronteggTrust(
    "frontegg",
    {
        workspaceUrl: config.require("fronteggWorkspaceUrl"),
        // Pinned, and compared with the keys the workspace publishes at every preview (warn on drift).
        publicKeyPem: config.require("fronteggPublicKey"),
        keyCheck: "warn",
    },
    onGateway,
);

const orders = new kongFronteggJwt.ProtectedApi(
    "orders",
    {
        upstreamUrl: "https://orders.internal:8443/v1",
        routePaths: ["/orders"],
        jwt: { maximumExpiration: 3600 },
    },
    onGateway,
);

const dashboardApi = new kongFronteggJwt.ProtectedApi(
    "dashboardApi",
    {
        upstreamUrl: "https://dashboard-api.internal",
        serviceName: "dashboard-api",
        routePaths: ["/dashboard-api"],
        cors: { origins: ["https://app.example.com"], credentials: true },
    },
    onGateway,
);

export const consumerId = frontegg.consumerId;
export const publicKeyFingerprint = frontegg.publicKeyFingerprint;
export const ordersRouteId = orders.routeId;
export const dashboardApiRouteId = dashboardApi.routeId;
export const dashboardApiCorsPluginId = dashboardApi.corsPluginId;
