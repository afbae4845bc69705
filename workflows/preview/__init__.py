"""Test mode and preview on history: the engine without effects."""
