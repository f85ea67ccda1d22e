"""Notifications: e-mails and SMS to staff, written to an outbox and sent by a job.

Each notification carries a ``dedupe_key`` that is unique in the table, so that a job that
runs again, or two that run at once, cannot notify anyone twice about the same thing.
"""
