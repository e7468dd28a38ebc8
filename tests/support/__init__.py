"""Test support: real services started on free ports in temporary folders, real processes."""
