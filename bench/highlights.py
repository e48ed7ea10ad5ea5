"""How often the highlight holds the answer: the quality-bar questions of tests/common/project.rs,
asked of an index of the seeds (built by the caller with the model to measure).

    python3 bench/highlights.py AKAPIT_BINARY PROJECT_DIR

For each question the passage holding the expected text in the top 3 is looked up, and the
script counts how often its highlight (the first "highlights" span) contains that text, and the
highlight's mean share of the passage's length.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

source = (Path(__file__).resolve().parent.parent / "tests/common/project.rs").read_text()
body = source[source.index("pub const QUALITY"):]
body = body[: body.index("];")]
pairs = re.findall(r'\(\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)",?\s*\)', body)

exe, project = sys.argv[1], sys.argv[2]
found = held = 0
shares = []
for question, expected in pairs:
    out = subprocess.run([exe, "ask", question, "-k", "3", "--json"], cwd=project,
                         capture_output=True, text=True, check=True)
    for result in json.loads(out.stdout)["results"]:
        if expected in result["text"]:
            found += 1
            span = result["highlights"][0]
            text = result["text"][span["start"]:span["end"]]
            shares.append(len(text) / len(result["text"]))
            if expected in text:
                held += 1
            else:
                print(f"miss: {question} | {text[:100]}", file=sys.stderr)
            break
print(f"{len(pairs)} questions: answer passage in the top 3 for {found}; its highlight holds "
      f"the answer {held} times; highlights average {sum(shares) / max(len(shares), 1):.0%} "
      f"of the passage")
