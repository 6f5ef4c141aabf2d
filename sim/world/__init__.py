"""The world a run simulates: the scenario model, calendars, distributions, named random
streams, the response curve and the process spec.
"""
