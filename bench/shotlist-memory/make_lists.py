#!/usr/bin/python3
"""Writes the four 8 MiB shot lists bench/shotlist-memory/run.sh measures into DIR:
dense (one-line flow maps with five keys: the most YAML nodes per byte), many (two-line shots
with a 50-character prompt), huge (prompts at the 2000-character limit) and one (a single
8 MiB prompt, refused as too long)."""
import sys

LIMIT = 8 * 1024 * 1024 - 200


def fill(path, make_line):
    with open(path, "w") as f:
        f.write("project: bench\nshots:\n")
        size = i = 0
        while True:
            line = make_line(i)
            if size + len(line) > LIMIT:
                return i
            f.write(line)
            size += len(line)
            i += 1


def main():
    d = sys.argv[1]
    fill(f"{d}/dense.yaml", lambda i: f"- {{id: s{i}, prompt: p, takes: 1, duration: 6, priority: 1}}\n")
    fill(f"{d}/many.yaml", lambda i: f'  - id: s{i:07d}\n    prompt: "a cat walks along the harbour at dawn, shot {i}"\n')
    fill(f"{d}/huge.yaml", lambda i: f'  - id: s{i:07d}\n    prompt: "{"x" * 1990}"\n')
    with open(f"{d}/one.yaml", "w") as f:
        f.write('project: bench\nshots:\n  - id: s1\n    prompt: "' + "y" * LIMIT + '"\n')


if __name__ == "__main__":
    main()
