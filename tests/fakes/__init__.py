"""Loopback fakes of remote services, driven by the real client libraries."""
