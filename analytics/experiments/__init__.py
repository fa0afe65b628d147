"""Experiments (A/B tests of agent setups): assignment, per-unit metrics, statistics, results.

The conventions are GrowthBook's (its hash v2, cumulative weight ranges, the Welch test on the
relative lift, the SRM check): see docs/analytics.md, "Experiments".
"""
