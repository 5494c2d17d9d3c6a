"""Concord's edges: the HTTP service (`http`), the command line (`cli`), the auditor's client
(`audit`), and what they share: settings, the composition root (`wiring`), API keys, signed
checkpoints, backups and scenario files."""
