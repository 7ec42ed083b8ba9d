"""Edges: each adapter translates one platform's events and actions."""
