"""``python -m sim``: one module per command family."""
