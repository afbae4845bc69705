"""Performance scenarios (`python -m bench <name>`) and the synthetic data generator."""
