"""tapescope.tui.screens."""
