"""The kong-frontegg-jwt component provider: Pulumi runs this file with the engine's address as the argument."""

from kong_frontegg_jwt.provider import serve

if __name__ == "__main__":
    serve()
