"""Kong + Frontegg JWT: the reusable parts (trust, protected API) and the one error type."""

from components.errors import ConfigError
from components.jwt_settings import JwtSettingsArgs
from components.protected_api import ProtectedApi, ProtectedApiArgs
from components.trust import FronteggTrust, FronteggTrustArgs

__all__ = ["ConfigError", "FronteggTrust", "FronteggTrustArgs", "JwtSettingsArgs", "ProtectedApi", "ProtectedApiArgs"]
