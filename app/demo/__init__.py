"""The demo district (not a service): Hongta's regions, synthetic households and reports, demo accounts,
and cases staged at every step, for `shouwang serve` in demo mode and `shouwang demo-data`."""
