"""tapescope.themes."""
