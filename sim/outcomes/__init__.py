"""What a run produced, as numbers: the KPI registry, fairness, lead-flow and process health,
forecast, attribution and claim feedback.
"""
