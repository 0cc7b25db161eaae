"""Contract tests: the real provider clients against Prism serving the providers' own API descriptions."""
