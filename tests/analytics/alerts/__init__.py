"""Tests of the alert store and the alert lifecycle."""
