"""Who viewed or changed which record, and when (GDPR accountability)."""
