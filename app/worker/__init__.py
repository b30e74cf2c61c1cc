"""`shouwang worker`: the scheduled jobs (jobs.py), when they run (schedule.py), the process (process.py)."""
