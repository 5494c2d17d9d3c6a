"""Concord's model: the event catalogue, the aggregates and their rules, the write side."""
