"""Test tooling shared by tests/ and benchmarks/: the real program under Pulumi's mock runtime."""
