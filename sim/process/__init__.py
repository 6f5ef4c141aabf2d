"""The sales process: the pipeline of checkpoints each qualified lead passes, and its
opportunity, contract and process-event tables.
"""
