"""defwatch."""
