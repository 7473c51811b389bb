"""Ratification notices: the moment a ratified amendment takes effect."""
