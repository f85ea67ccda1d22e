"""Organisations, users, memberships and the access rules that scope every query."""
