"""Campaigns: what to contact, how often, through which channel, and when."""
