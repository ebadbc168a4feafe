"""The sandbox fixtures live in tests/conftest.py (shared by the provider and engine suites)."""
