"""Kong + Frontegg JWT: Pulumi components that let only requests with a valid Frontegg token through Kong.

Installed as `kong_frontegg_jwt`; in this repository the sources are the `components` package.
"""

from .cors_settings import CorsSettings
from .errors import ConfigError
from .jwt_settings import JwtSettings
from .key_discovery import KeyCheck
from .protected_api import ProtectedApi, ProtectedApiArgs
from .trust import FronteggTrust, FronteggTrustArgs

__version__ = "0.2.0"

__all__ = [
    "ConfigError",
    "CorsSettings",
    "FronteggTrust",
    "FronteggTrustArgs",
    "JwtSettings",
    "KeyCheck",
    "ProtectedApi",
    "ProtectedApiArgs",
    "__version__",
]
