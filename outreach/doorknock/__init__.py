"""Door-knocks: proximity staff sent to a senior's door when nobody could reach her."""
