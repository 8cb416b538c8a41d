"""The core's contract with providers: hook shape (opt-in arguments), capabilities, declared
options, stop sequences, and stage-1 plugins passing the shipped suites. No fixtures of its
own yet.
"""
