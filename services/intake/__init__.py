"""The intake: HTTP endpoints where reports and "we did" actions come in, onto Kafka."""
