"""Benchmarks for OneRouter: numbers go to the README, never into assertions."""
