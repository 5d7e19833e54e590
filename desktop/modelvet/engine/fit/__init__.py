"""Memory, placement and speed of a model variant on given hardware."""
