"""The three services: intake (HTTP), router and feedback (faust workers)."""
