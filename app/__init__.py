"""Shouwang (守望): return-to-poverty monitoring service."""
