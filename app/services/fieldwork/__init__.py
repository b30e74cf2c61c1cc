"""Field work: helpers paired with households (结对帮扶), visits to households (走访) and their photos."""
