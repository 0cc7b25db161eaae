"""``python -m services.dashboard``: recompute every month of the public dashboard's figures."""
