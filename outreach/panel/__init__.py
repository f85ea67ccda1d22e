"""The regional panel: anonymised listings, the draw by quotas, agreements (issue 13)."""
