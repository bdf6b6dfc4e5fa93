#!/usr/bin/python3
"""Validates the fixtures under data/ against schemas/*.schema.json with Debian's
python3-jsonschema: every data/<kind>/valid/*.yaml must pass, every invalid/*.yaml must fail.
fixtures_test.cpp runs the same files through load_shotlist/load_config, so the schemas and the
loaders cannot drift apart unnoticed.

usage: check_schemas.py SCHEMA_DIR DATA_DIR
"""
import json
import pathlib
import sys

import jsonschema
import yaml


def main() -> int:
    schema_dir = pathlib.Path(sys.argv[1])
    data_dir = pathlib.Path(sys.argv[2])
    failures = 0
    checked = 0
    for kind in ("shotlist", "config"):
        schema = json.loads((schema_dir / f"{kind}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        for expect_valid in (True, False):
            folder = data_dir / kind / ("valid" if expect_valid else "invalid")
            files = sorted(folder.glob("*.yaml"))
            if not files:
                print(f"FAIL {folder}: no fixtures")
                failures += 1
            for path in files:
                checked += 1
                document = yaml.safe_load(path.read_text(encoding="utf-8"))
                errors = list(validator.iter_errors(document))
                if expect_valid and errors:
                    failures += 1
                    print(f"FAIL {path}: expected valid, schema says:")
                    for e in errors:
                        print(f"    {'/'.join(map(str, e.absolute_path))}: {e.message}")
                elif not expect_valid and not errors:
                    failures += 1
                    print(f"FAIL {path}: expected the schema to reject it")
                else:
                    detail = "" if expect_valid else f" ({errors[0].message[:80]})"
                    print(f"ok   {path.relative_to(data_dir)}{detail}")
    print(f"{checked} fixtures, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
