"""What every room stands on: access, auth and users, the audit chain, keys, policy versions, leases,
rate limits, paging, the webhook outbox and the delivery core shared with relief, health."""
