"""Tools over any layer: summary, profile, benchmark, compile, export, save/load, PyTorch interop, sharding.

A tool reads what a layer says about itself (its description) and never names a layer.
"""
