"""Cases: signals, the procedure's steps and actions, escalation, assistance, departments' referrals."""
