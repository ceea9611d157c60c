"""Findings about a pasted report itself: what doctor read, what it could not see, what it left out."""

from __future__ import annotations

from torchlab.decide.findings.finding import Finding, quote
from torchlab.facts import HostFacts

WHOLE_REPORT = "Paste the whole output of `python -m torch.utils.collect_env` (it ends with the library list)"


def report_findings(facts: HostFacts) -> list[Finding]:
    report = facts.report
    if report is None:
        return []
    torch = facts.torch.version if facts.torch and facts.torch.version else "torch not importable"
    undone = f"Undone to read it: {', '.join(report.repaired)}." if report.repaired else ""
    found = [Finding("report.read", "ok", f"A collect_env report ({torch})", undone, area="report",
                     evidence=quote(facts, "PyTorch version"))]
    if report.reports > 1:
        found.append(Finding(
            "report.several", "warn", f"The paste holds {report.reports} collect_env reports: doctor judged the first",
            "Each report describes one machine or one Python; the others were not read.",
            "Save each report to its own file and run `torchlab doctor --from FILE` on each",
            "report", evidence=quote(facts, "PyTorch version", "another report"),
        ))
    if report.missing or report.ends_inside:
        where = f"it ends inside {report.ends_inside}" if report.ends_inside else "it is cut short"
        missing = f" Not shown: {', '.join(report.missing)}." if report.missing else ""
        found.append(Finding(
            "report.truncated", "warn", f"The report is incomplete: {where}",
            f"Doctor judged what the report shows and claims nothing about what it does not.{missing}",
            WHOLE_REPORT, "report", evidence=quote(facts, "last line"),
        ))
    return found
