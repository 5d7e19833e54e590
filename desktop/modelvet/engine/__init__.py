"""The decision engine: pure Python, never imports Qt."""
