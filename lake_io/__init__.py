"""SCIM package."""
