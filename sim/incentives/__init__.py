"""The incentive ledger: records, accounts, ledger import, payments, statements and the
incentive report.
"""
