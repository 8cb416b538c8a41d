"""The testing kit ``tuneplug.testing``: pytest plugin, network guard, cassettes, scripted
provider.
"""
