"""Before summer: the pre-season check of an organisation's canicule list (issue 12)."""
