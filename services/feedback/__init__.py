"""The feedback worker: tells every informant "you said, we did", by SMS or email."""
