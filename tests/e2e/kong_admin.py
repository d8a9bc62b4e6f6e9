"""What Kong really holds, read through its Admin API: the ground truth the suite compares the stack with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

Entity = dict[str, Any]

_TIMEOUT = 10


class AdminApi:
    """A few calls to Kong's Admin API, each failing loudly on an unexpected status."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._session = requests.Session()
        self._session.trust_env = False  # a proxy from the environment would read the wrong Kong

    def get(self, path: str) -> Entity | None:
        """The entity at path, or None when Kong answers 404."""
        response = self._session.get(self.url + path, timeout=_TIMEOUT)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: Entity = response.json()
        return body

    def list(self, path: str) -> list[Entity]:
        """Every entity of a collection, following Kong's pagination."""
        entities: list[Entity] = []
        next_page: str | None = f"{path}?size=1000"
        while next_page:
            page = self.get(next_page)
            if page is None:
                raise AssertionError(f"{self.url}{path}: 404, not a collection")
            entities += page["data"]
            next_page = page.get("next")
        return entities

    def patch(self, path: str, body: Entity) -> Entity:
        response = self._session.patch(self.url + path, json=body, timeout=_TIMEOUT)
        if not response.ok:
            raise AssertionError(f"PATCH {self.url}{path}: {response.status_code} {response.text}")
        patched: Entity = response.json()
        return patched


def foreign_id(entity: Entity, field: str) -> str | None:
    """The id a foreign-key field points at, e.g. a plugin's service; None when it is null."""
    reference = entity.get(field)
    return reference.get("id") if isinstance(reference, dict) else None


@dataclass(frozen=True)
class StackInKong:
    """Everything in Kong that belongs to one e2e stack: named with its prefix, keyed by its issuers, or attached to those."""

    services: list[Entity]
    routes: list[Entity]
    plugins: list[Entity]
    consumers: list[Entity]
    credentials: list[Entity]

    @classmethod
    def read(cls, admin: AdminApi, prefix: str, issuers: Iterable[str]) -> StackInKong:
        keys = set(issuers)
        services = [s for s in admin.list("/services") if str(s.get("name") or "").startswith(prefix)]
        service_ids = {s["id"] for s in services}
        routes = [
            r for r in admin.list("/routes") if str(r.get("name") or "").startswith(prefix) or foreign_id(r, "service") in service_ids
        ]
        route_ids = {r["id"] for r in routes}
        all_credentials = admin.list("/jwts")
        owners = {foreign_id(c, "consumer") for c in all_credentials if c.get("key") in keys}
        consumers = [c for c in admin.list("/consumers") if str(c.get("username") or "").startswith(prefix) or c["id"] in owners]
        consumer_ids = {c["id"] for c in consumers}
        credentials = [c for c in all_credentials if c.get("key") in keys or foreign_id(c, "consumer") in consumer_ids]
        plugins = [
            p
            for p in admin.list("/plugins")
            if foreign_id(p, "service") in service_ids or foreign_id(p, "route") in route_ids or foreign_id(p, "consumer") in consumer_ids
        ]
        return cls(services, routes, plugins, consumers, credentials)

    def ids(self) -> dict[str, set[str]]:
        """The ids of each kind, by the Admin API collection that serves them."""
        return {
            "services": {e["id"] for e in self.services},
            "routes": {e["id"] for e in self.routes},
            "plugins": {e["id"] for e in self.plugins},
            "consumers": {e["id"] for e in self.consumers},
            "jwts": {e["id"] for e in self.credentials},
        }

    def is_empty(self) -> bool:
        return not any(self.ids().values())
