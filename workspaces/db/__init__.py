"""Tendril's database backend: PostgreSQL plus the tenancy wall (see base.py)."""
