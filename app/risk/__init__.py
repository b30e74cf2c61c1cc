"""Risk engine: policy rules (rules.py); features, model and scheduled scoring follow (issue 3)."""
