"""tapescope.feeds.sim."""
