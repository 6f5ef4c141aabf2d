"""The CRM importer: mapping files, export files, field parsing, import with quarantine,
calibration, backtests, scenario writer, synthetic exports and replay.
"""
