"""docs/api.md is generated from the protos' comments (scripts/gen_api_docs.py) and kept up to date."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "scripts/gen_api_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_checked_in_api_reference_is_what_the_protos_generate() -> None:
    generated = load_generator().generate()
    assert (ROOT / "docs/api.md").read_text(encoding="utf-8") == generated, "run `make api-docs`"


def test_comments_before_and_after_declarations_document_them(tmp_path: Path) -> None:
    proto = tmp_path / "demo.proto"
    proto.write_text(
        "// A demo file.\n"
        'syntax = "proto3";\n'
        "package demo.v1;\n"
        "// Says hello.\n"
        "service Greeter {\n"
        "  // Streams greetings.\n"
        "  rpc Greet(stream Hello) returns (stream Hello);\n"
        "}\n"
        "message Hello {\n"
        "  repeated string names = 1;  // who | whom\n"
        "}\n"
        "enum Mood {\n"
        "  MOOD_UNSPECIFIED = 0;\n"
        "}\n"
    )
    text = load_generator().generate(tmp_path)
    assert "## demo.proto\n\nA demo file.\n" in text
    assert "### service `demo.v1.Greeter`\n\nSays hello.\n" in text
    assert "| `Greet` | `stream Hello` | `stream Hello` | Streams greetings. |" in text
    assert "| `names` | `repeated string` | 1 | who \\| whom |" in text
    assert "| `MOOD_UNSPECIFIED` | 0 |  |" in text
