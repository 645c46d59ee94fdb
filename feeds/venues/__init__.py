"""tapescope.feeds.venues."""
