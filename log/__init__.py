"""The write side: the log application, the one writer of a process, and a storage module
per backend (`sqlite`, `postgres`), both of eventsourcing's recorders plus Concord's tables."""
