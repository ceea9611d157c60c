"""Results for people: rich on stderr, colours following the terminal (NO_COLOR respected)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from torchlab.doctor.diagnose import DoctorResult

EVIDENCE_LINES = 4  # report lines quoted under a finding (all of them with --verbose)
MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]", "skip": "[dim]-[/]"}
AREAS = {
    "report": "The report",
    "system": "System",
    "nvidia": "NVIDIA",
    "amd": "AMD",
    "apple": "Apple",
    "wsl": "WSL",
    "docker": "Docker",
    "torch": "torch",
}


def print_doctor(
    result: DoctorResult, console: Console, verbose: bool = False, origin: str | None = None
) -> None:
    facts = result.facts
    where = f"the report {origin}" if origin else "this machine"
    console.print(f"[bold]torchlab doctor[/] · {escape(where)}")
    for area, title in AREAS.items():
        findings = [f for f in result.findings if f.area == area]
        if not findings:
            continue
        if area == "torch":
            title = "torch (this Python)" if facts.source == "probe" else "torch (in the report)"
        console.print(f"\n[bold]{title}[/]")
        for finding in findings:
            console.print(f"  {MARKS[finding.status]} {escape(finding.title)}")
            if finding.detail and (verbose or finding.status in ("warn", "fail")):
                console.print(f"      [dim]{escape(finding.detail)}[/]")
            if finding.fix and finding.status in ("warn", "fail"):
                console.print(f"      fix: [cyan]{escape(finding.fix)}[/]")
            if finding.evidence and (verbose or finding.status in ("warn", "fail")):
                for line in finding.evidence[:EVIDENCE_LINES]:
                    console.print(f"      [dim]│ {escape(line)}[/]")
    print_plan(result, console)
    print_verdicts(result, console)
    if verbose:
        console.print(f"\n[dim]cpu: {escape(str(facts.cpu))}\nmemory: {escape(str(facts.memory))}[/]")
    print_summary(result, console)


def print_plan(result: DoctorResult, console: Console) -> None:
    plan = result.plan
    console.print("\n[bold]Plan[/] (what `torchlab up` will use)")
    rows = (
        ("runtime", plan.runtime, plan.reasons["runtime"]),
        (
            "variant",
            f"{plan.variant} (torch {plan.torch_version}, index {plan.torch_index})",
            plan.reasons["variant"],
        ),
        ("device", plan.device, ""),
    )
    for name, value, reason in rows:
        console.print(
            f"  {name:<8} [bold]{escape(value)}[/]" + (f"  [dim]{escape(reason)}[/]" if reason else "")
        )


def print_verdicts(result: DoctorResult, console: Console) -> None:
    """The two answers a teaching assistant wants: the learner's own torch, and the labs' torch."""
    verdicts = [v for v in result.verdicts.values() if v is not None]
    console.print("\n[bold]Verdicts[/]")
    for verdict in verdicts:
        console.print(f"  {MARKS[verdict.status]} {escape(verdict.says)}")


def print_summary(result: DoctorResult, console: Console) -> None:
    counts = {status: sum(f.status == status for f in result.findings) for status in ("fail", "warn")}
    warnings = f"{counts['warn']} warning{'' if counts['warn'] == 1 else 's'}"
    if counts["fail"]:
        problems = f"{counts['fail']} problem{'' if counts['fail'] == 1 else 's'}"
        console.print(f"\n[red]{problems} to fix[/], {warnings}.")
    elif counts["warn"]:
        console.print(f"\n[green]No problems.[/] {warnings}.")
    else:
        console.print("\n[green]No problems found.[/]")
