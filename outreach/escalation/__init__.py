"""Escalation: rules that open alerts for the referent social worker, their life until
resolution, reinforced follow-up, and the notifications that keep them on someone's desk."""
