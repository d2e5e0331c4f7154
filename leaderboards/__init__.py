"""Published result tables (YAML, with their sources) that ship with evalkit; see README.md."""
