"""Batch runs ``tuneplug.batch`` and ``tuneplug batch``. Helpers: ``fakes.py``, ``server.py``
(counting loopback server), ``kill_random.py`` (a script).
"""
