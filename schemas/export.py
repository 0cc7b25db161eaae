"""Write the JSON Schema of every topic's event model, for consumers not written in Python.

    python -m schemas.export [OUT_DIR]   (default: build/schemas)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.topics import TOPICS


def export(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in TOPICS.values():
        schema = topic.model.model_json_schema()
        schema["title"] = topic.model.__name__
        schema["description"] = f"{topic.description}. Topic: {topic.name}."
        schema["x-topic"] = topic.name
        path = out_dir / f"{topic.name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/schemas")
    for path in export(out):
        print(path)


if __name__ == "__main__":
    main()
