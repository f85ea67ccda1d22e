"""The senior's rights (access, erasure), retention, and the documents a DPO signs off."""
