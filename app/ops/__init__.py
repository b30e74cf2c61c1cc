"""Operating the service, from the CLI: migrating the schema under a lock, backing up and restoring. These
work on a database named by its URL (a restore's target, a schema not yet migrated), so unlike services
they make their own short-lived engine."""
