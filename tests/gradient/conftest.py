"""The Gradient provider and protocol (``plugins/gradient``). Helpers: ``fake.py`` (scriptable
loopback Gradient API), ``cassette_kit.py`` (recorded cassettes and the ``no_network``
fixture).
"""
