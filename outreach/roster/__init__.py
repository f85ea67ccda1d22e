"""The senior roster: who is followed, how to reach them, and whether they agreed."""
