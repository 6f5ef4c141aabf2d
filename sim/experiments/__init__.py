"""Many runs: replications, policy comparison on common random numbers, sweeps, their store,
analysis and fan-out.
"""
