"""The job registry and the scheduler runner (APScheduler 3, one leader at a time)."""
