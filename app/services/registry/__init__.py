"""The registry: households and their members, reports and per-capita income, regions, type corrections,
monitoring records, and the village's visit list."""
