"""The floor: a plain aiokafka consumer-to-producer pass-through between two topics.

    python -m bench.passthrough --bootstrap HOST:PORT --source TOPIC --dest TOPIC \\
        --start '{"0": 120, "1": 98, ...}' [--mode batch|each]

Reads every partition of ``--source`` from the given offsets and writes each message, key and
value unchanged, to the same partition of ``--dest`` (acks=all, idempotent producer), committing
the consumer's offsets after each fetched batch, until it is stopped (SIGTERM). No decoding,
no store, no logic: the most any Python stage can do on this broker.

``batch`` sends a whole fetched batch and then waits for the broker's acknowledgements;
``each`` waits for each message's acknowledgement before sending the next, as the services'
agents do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition


async def run(bootstrap: str, source: str, dest: str, start: dict[int, int], mode: str) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=f"bench-passthrough-{uuid.uuid4().hex[:8]}",
                                enable_auto_commit=False, max_poll_records=500)
    # One at a time, lingering would only add its delay to every message (aiokafka's default is 0).
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5 if mode == "batch" else 0)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        partitions = [TopicPartition(source, p) for p in sorted(start)]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                continue
            for tp, messages in batches.items():
                if mode == "each":
                    for m in messages:
                        await producer.send_and_wait(dest, key=m.key, value=m.value, partition=tp.partition)
                else:
                    futures = [await producer.send(dest, key=m.key, value=m.value, partition=tp.partition)
                               for m in messages]
                    await asyncio.gather(*futures)
            await consumer.commit({tp: messages[-1].offset + 1 for tp, messages in batches.items()})
    finally:
        await producer.stop()
        await consumer.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.passthrough", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--start", required=True, help='JSON: {"partition": offset, ...}')
    parser.add_argument("--mode", choices=["batch", "each"], default="batch")
    args = parser.parse_args(argv)
    start = {int(p): int(o) for p, o in json.loads(args.start).items()}
    asyncio.run(run(args.bootstrap, args.source, args.dest, start, args.mode))


if __name__ == "__main__":
    main()
