"""tapescope.widgets."""
