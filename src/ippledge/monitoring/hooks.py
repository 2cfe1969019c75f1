"""Listeners registered with the rights register: event-driven alerts."""
