"""tapescope.feeds."""
