"""The router: streams each report to the right team, watch or partner, with its reasons."""
