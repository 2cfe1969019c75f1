"""End-of-day monitoring jobs."""
