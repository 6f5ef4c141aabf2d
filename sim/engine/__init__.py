"""The SimPy engine: the run, the team, arrivals, lead generation, intake, dispatch, the
marketplace, the SLA breaker, entities, the event log and the result tables.
"""
