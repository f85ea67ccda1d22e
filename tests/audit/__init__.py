"""Tests of the audit viewer, access logging and the RGPD documents."""
