"""Rendered reports: papermill and HTML rendering, batches and the plain-language narratives."""
