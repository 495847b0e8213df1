"""Benchmarks (`make bench`, `python -m bench`): each figure is a ratio to a baseline
measured in the same run, printed with its target and written to bench/results.json.

Not a layered package: product code never imports it.
"""
