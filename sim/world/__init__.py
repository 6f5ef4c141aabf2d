"""The world a run simulates: the scenario model, the simulation clock, calendars (shifts
and working days), the lead-attribute list, distributions, named random streams, the
response curve and the process spec.
"""
