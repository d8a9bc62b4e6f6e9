"""Operator tools shipped with the project: token scenarios, the local stack, the gateway verifier."""
