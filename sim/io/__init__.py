"""Input and output: the safe YAML loader, --set overrides and dotted paths, project paths,
confined output files.
"""
