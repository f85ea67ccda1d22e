"""Collective workshops (ateliers): invitations, replies, reminders, attendance (issue 13)."""
