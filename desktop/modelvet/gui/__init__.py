"""The PySide6 wizard over the engine. Holds no decision logic."""
