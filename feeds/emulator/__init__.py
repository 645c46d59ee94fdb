"""tapescope.feeds.emulator."""
