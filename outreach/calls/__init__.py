"""Contact attempts (staff calls, IVR calls, SMS), their dispositions and fragility signals."""
