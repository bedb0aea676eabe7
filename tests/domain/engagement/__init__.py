"""Tests of the pure engagement engine (virtual clock, no event loop)."""
