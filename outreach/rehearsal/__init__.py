"""The canicule rehearsal: a heatwave day played on a throw-away copy, time compressed."""
