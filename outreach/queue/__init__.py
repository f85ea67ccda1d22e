"""The staff call queue ("Ma file du jour"): claim, call, record the outcome, retry."""
