"""Test doubles of the production ports (never imported by processors/: tests/unit/test_layers.py)."""
