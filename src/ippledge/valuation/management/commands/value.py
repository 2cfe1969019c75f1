import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ippledge.core.errors import DomainError
from ippledge.valuation import services


class Command(BaseCommand):
    help = 'Value from a JSON file {"method", "inputs", "options"} and print the value and its trace (`ippledge value FILE.json`).'

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--language", choices=["zh", "en"], default="zh")
        parser.add_argument("--json", action="store_true", help="print the whole result as JSON")

    def handle(self, *args, file: Path, language: str, json: bool, **options):
        try:
            spec = _load(file)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            result = services.compute(method=spec.get("method", ""), inputs=spec.get("inputs") or {},
                                      options=spec.get("options") or {})
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.localised()} {exc.fields or ''}") from exc
        if json:
            self.stdout.write(_dumps(result))
            return
        trace = result.pop("trace", [])
        headline = next((k for k in ("value", "split_rate", "price", "p50") if k in result), None)
        if headline:
            label = {"zh": "结果", "en": "Result"}[language]
            self.stdout.write(f"{label} ({headline}): {result[headline]} {result.get('currency', '')}".rstrip())
        for step in trace:
            label = step["zh"] if language == "zh" else step["en"]
            formula = f"  [{step['formula']}]" if step.get("formula") else ""
            self.stdout.write(f"  {label}: {step['value']}{formula}")


def _load(path: Path) -> dict:
    return jsonlib.loads(path.read_text(encoding="utf-8"))


def _dumps(value) -> str:
    from ippledge.valuation.engine.trace import render

    return jsonlib.dumps(render(value), ensure_ascii=False, indent=2)
