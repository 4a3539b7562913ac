"""Contracts every SmartCommerce app speaks: names, wire models, events, errors.

Nothing here does I/O; apps, actors and tests import it freely.
"""
