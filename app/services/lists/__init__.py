"""What the scorer found, as users read it: risk results, runs and the model card, the weekly risk lists,
their summary, exports and charts."""
