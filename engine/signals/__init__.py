"""Signal generators, fusion into one score, and validation (detectors.md, Signals)."""
