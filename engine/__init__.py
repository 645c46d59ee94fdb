"""tapescope.engine."""
