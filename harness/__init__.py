"""What tests, benchmarks, load and fault runs share to drive the real system from outside: the
services as processes (``processes``), consumer groups on the broker (``kafka``), fake Twilio and
SendGrid (``providers``, and ``providers_process`` for one in a child process), and what fault and
load runs count (``faults``). Not shipped: the wheel holds ``schemas``, ``services`` and ``infra``.
"""
