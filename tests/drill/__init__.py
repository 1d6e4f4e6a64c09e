"""Restore drill tests."""
