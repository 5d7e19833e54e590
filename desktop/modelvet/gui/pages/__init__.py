"""The wizard steps, one module each."""
