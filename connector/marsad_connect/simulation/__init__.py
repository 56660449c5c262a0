"""Simulated operator information systems, for demonstrations and tests of the connector."""
