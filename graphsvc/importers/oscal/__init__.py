"""OSCAL importers: one reader for JSON, YAML and XML, one mapper per model."""
