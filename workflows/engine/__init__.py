"""Executing runs: claim due runs, advance, act on the world, record workflow.* events; the clock."""
