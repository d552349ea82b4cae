"""Reusable dashboard pieces: controls that return config sections, renderers, and pure Altair chart builders."""
