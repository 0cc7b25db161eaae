"""Local stand-ins for outside services, used by integration and end-to-end tests."""
