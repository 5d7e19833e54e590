"""Capability scores and the ranked recommendation."""
