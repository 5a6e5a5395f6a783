"""The engine below every front end: errors, logging, the machine root, probes and their runner."""
