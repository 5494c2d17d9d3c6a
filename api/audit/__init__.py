"""Auditing a Concord log without trusting its operator: a client library any auditor's
script can import, and what `concord verify` runs."""
