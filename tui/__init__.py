"""tapescope.tui."""
