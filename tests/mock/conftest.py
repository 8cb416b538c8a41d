"""The mock provider (``plugins/mock``): its language model, store, multipliers and contract
suites. No fixtures of its own yet.
"""
