"""Input and output: the safe YAML loader, --set overrides and dotted paths, validation
errors as one line per problem, project paths, confined output files, and the quarantine
model every import shares (rejected rows, reconciled counts, ``quarantine.csv``).
"""
