"""The report as one self-contained web page: a summary a city official reads first (MIM1 score per area,
MIM2 compliance per type as a chart), then every check and every type with its details folded under it."""

from __future__ import annotations

from html import escape

from conformance.mim2 import Mim2Report, TypeReport
from conformance.registry import AREAS
from conformance.report import Report
from conformance.runner import FAILED, NOT_OFFERED, PASSED, Result

__all__ = ["html_report"]

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px}h3{font-size:16px;margin:20px 0 8px}
.meta{color:#5b6474}.card{background:#fff;border-radius:10px;padding:18px 22px;margin:14px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
.verdict{font-size:18px;font-weight:600;padding:14px 18px;border-radius:8px;margin:16px 0}
.good{background:#e3f5e8;color:#14532d}.bad{background:#fde8e8;color:#7f1d1d}
table{border-collapse:collapse;width:100%}td,th{padding:6px 8px;text-align:left;vertical-align:top}
th{font-size:13px;color:#5b6474;font-weight:600;border-bottom:1px solid #e3e6eb}
tr+tr td{border-top:1px solid #f0f1f4}
.bar{display:flex;height:14px;width:260px;border-radius:7px;overflow:hidden;background:#e8eaee}
.bar span{display:block;height:100%}.p{background:#22a05a}.f{background:#d64545}.n{background:#a7b0bf}
.badge{display:inline-block;min-width:78px;text-align:center;border-radius:10px;font-size:12px;font-weight:600;
padding:1px 8px}.badge.p{color:#fff}.badge.f{color:#fff}.badge.n{color:#1d2330}
details{margin:2px 0}summary{cursor:pointer;padding:4px 0 4px 16px;list-style:none;position:relative}
summary::-webkit-details-marker{display:none}summary::before{content:'▸';position:absolute;left:0;top:4px;
color:#8a93a3}details[open]>summary::before{content:'▾'}
.check{display:grid;grid-template-columns:92px 290px 70px 1fr;gap:8px;align-items:baseline}
code,pre{font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f3f4f7;border-radius:6px;padding:10px;overflow:auto;white-space:pre-wrap;word-break:break-all}
.req{margin:6px 0 6px 100px}.legend span{display:inline-block;width:10px;height:10px;border-radius:2px;
margin:0 4px 0 12px}.muted{color:#5b6474}
"""


def html_report(report: Report) -> bytes:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>NGSI-LD conformance: "
             f"{escape(report.broker)}</title><meta name='viewport' content='width=device-width'>"
             f"<style>{STYLE}</style></head><body><main>",
             _header(report), _summary(report)]
    if report.mim2 is not None:
        parts.append(_mim2(report.mim2))
    if report.results:
        parts.append(_checks(report))
    parts.append("</main></body></html>")
    return "".join(parts).encode("utf-8")


def _header(report: Report) -> str:
    tenant = f", tenant <b>{escape(report.tenant)}</b>" if report.tenant else ""
    mode = " Only the checks that write nothing were run." if report.read_only else ""
    return (f"<h1>Is this platform speaking standard NGSI-LD?</h1><p class='meta'>Broker <b>{escape(report.broker)}"
            f"</b>{tenant}, checked on {escape(report.started[:16].replace('T', ' at '))} UTC in "
            f"{report.seconds:.1f} seconds.{mode}</p>")


def _summary(report: Report) -> str:
    lines = ["<section class='card'><h2 style='margin-top:0'>Summary</h2>"]
    lines += [f"<div class='verdict {'good' if good else 'bad'}'>{escape(text)}</div>"
              for good, text in _verdicts(report)]
    if report.results:
        failed, offered = report.count(FAILED), report.count(NOT_OFFERED)
        lines.append(f"<p><b>MIM1, the API</b> (OASC Minimal Interoperability Mechanism 1: NGSI-LD, ETSI GS CIM 009 "
                     f"v1.8.1): {report.count(PASSED)} of {len(report.results) - offered} checks passed"
                     f"{f', <b>{failed} failed</b>' if failed else ''}. "
                     f"{_not_offered_note(offered)}"
                     f"</p>{_area_table(report)}")
    if report.mim2 is not None:
        data = report.mim2.as_json()
        lines.append(f"<p><b>MIM2, the data</b> (Smart Data Models): {data['compliant']} of {data['checked']} "
                     f"entities follow their model.</p>{_mim2_chart(report.mim2)}")
    lines.append("<p class='muted'>How to read this: the MIM1 checks ask the platform to do what the NGSI-LD "
                 "standard describes (store, find, update, notify) and compare each answer with what the standard "
                 "requires; a failed check means an application written for another platform may not work here. "
                 "The MIM2 check reads the data and compares each entity with its public Smart Data Model; an "
                 "entity that does not follow it may be misread by applications of other cities.</p></section>")
    return "".join(lines)


def _verdicts(report: Report) -> list[tuple[bool, str]]:
    """One sentence for MIM1 and one for MIM2, each good or bad."""
    verdicts = []
    if report.results:
        failed = report.count(FAILED)
        verdicts.append((not failed, "The API follows NGSI-LD: every check that applies passed." if not failed else
                         f"The API differs from NGSI-LD in {failed} of the checks: see the failed checks below."))
    if report.mim2 is not None:
        data = report.mim2.as_json()
        wrong = data["checked"] - data["compliant"]
        verdicts.append((report.mim2.passed, f"All {data['checked']} entities of Smart Data Model types follow their "
                         "model." if report.mim2.passed else f"{wrong} of {data['checked']} entities do not follow "
                         "their Smart Data Model" + (" and the data could not be read to the end." if
                                                     report.mim2.error else ".")))
    return verdicts


def _not_offered_note(offered: int) -> str:
    return f"{offered} optional features are not offered by this broker (that is allowed)." if offered else ""


def _area_table(report: Report) -> str:
    rows = ["<table><tr><th>Area</th><th>Score</th><th>Passed</th><th>Failed</th><th>Not offered</th></tr>"]
    for area, score in report.area_scores().items():
        total = sum(score.values()) or 1
        bar = "".join(f"<span class='{css}' style='width:{100 * score[outcome] / total:.1f}%'></span>"
                      for outcome, css in ((PASSED, "p"), (FAILED, "f"), (NOT_OFFERED, "n")))
        rows.append(f"<tr><td><a href='#area-{area}'>{escape(AREAS[area])}</a></td><td><div class='bar'>{bar}</div>"
                    f"</td><td>{score[PASSED]}</td><td>{score[FAILED] or ''}</td><td>{score[NOT_OFFERED] or ''}</td>"
                    "</tr>")
    rows.append("</table><p class='legend muted'><span class='p'></span>passed<span class='f'></span>failed"
                "<span class='n'></span>not offered (optional)</p>")
    return "".join(rows)


def _mim2_chart(mim2: Mim2Report) -> str:
    """An inline SVG bar chart: per Smart Data Model type, the share of compliant entities."""
    models = mim2.models
    if not models:
        return "<p class='muted'>The broker holds no entity of a Smart Data Model type.</p>"
    row, label, width = 28, 240, 420
    height = row * len(models) + 10
    bars = []
    for index, model in enumerate(models):
        y = index * row + 4
        good = width * model.share
        bars.append(f"<text x='{label - 8}' y='{y + 15}' text-anchor='end'>{escape(model.type)}</text>"
                    f"<rect x='{label}' y='{y}' width='{width}' height='20' rx='4' fill='#f2c7c7'/>"
                    f"<rect x='{label}' y='{y}' width='{good:.1f}' height='20' rx='4' fill='#22a05a'/>"
                    f"<text x='{label + width + 8}' y='{y + 15}'>{model.share:.0%} of {model.checked}</text>")
    return (f"<svg role='img' aria-label='Compliance per type' width='100%' viewBox='0 0 {label + width + 110} "
            f"{height}' style='max-width:780px;font:13px system-ui,sans-serif'>{''.join(bars)}</svg>")


def _mim2(mim2: Mim2Report) -> str:
    parts = ["<h2>MIM2: the data, type by type</h2>"]
    if mim2.error:
        parts.append(f"<div class='verdict bad'>The data could not be read to the end: {escape(mim2.error)}</div>")
    for model in mim2.models:
        parts.append(_type_card(model))
    if mim2.not_models:
        names = ", ".join(f"{escape(r.type)} ({r.checked})" for r in mim2.not_models)
        parts.append(f"<div class='card'><h3 style='margin-top:0'>Types that are not Smart Data Models</h3>"
                     f"<p>{names}</p><p class='muted'>Their entities are not checked.</p></div>")
    return "".join(parts)


def _type_card(model: TypeReport) -> str:
    data = model.as_json()
    parts = [f"<div class='card'><h3 style='margin-top:0'>{escape(model.type)} <span class='muted'>"
             f"({escape(model.model or '')})</span></h3><p>{_entities(model.checked)} checked, {model.compliant} "
             f"compliant, {model.checked - model.compliant} not.</p>"]
    if data["frequentViolations"]:
        parts.append("<p><b>Most frequent violations</b></p><table><tr><th>Entities</th><th>Violation</th></tr>")
        parts += [f"<tr><td>{v['entities']}</td><td><code>{escape(v['violation'])}</code></td></tr>"
                  for v in data["frequentViolations"]]
        parts.append("</table>")
    for entity in model.noncompliant:
        items = "".join(f"<li><code>{escape(v['pointer'] or '(entity)')}</code>: {escape(v['message'])}</li>"
                        for v in entity["violations"])
        parts.append(f"<details><summary><code>{escape(entity['id'])}</code></summary><ul>{items}</ul></details>")
    if data["noncompliantNotListed"]:
        parts.append(f"<p class='muted'>{data['noncompliantNotListed']} more non-compliant entities are not listed."
                     "</p>")
    parts.append("</div>")
    return "".join(parts)


def _entities(count: int) -> str:
    return f"{count} {'entity' if count == 1 else 'entities'}"


_BADGES = {PASSED: ("p", "passed"), FAILED: ("f", "failed"), NOT_OFFERED: ("n", "not offered")}


def _checks(report: Report) -> str:
    parts = ["<h2>MIM1: every check</h2><p class='muted'>Each check names the clause of ETSI GS CIM 009 v1.8.1 it "
             "verifies. Open a check to see what was sent, what came back and what the clause requires.</p>"]
    for area, results in report.by_area().items():
        parts.append(f"<section class='card' id='area-{area}'><h3 style='margin-top:0'>{escape(AREAS[area])}</h3>")
        parts += [_check(result) for result in results]
        parts.append("</section>")
    return "".join(parts)


def _check(result: Result) -> str:
    css, label = _BADGES[result.outcome]
    line = (f"<span class='badge {css}'>{label}</span><code>{escape(result.check.id)}</code>"
            f"<span class='muted'>{escape(result.check.clause)}</span><span>{escape(result.check.statement)}</span>")
    if result.outcome == PASSED:
        return f"<div class='check' style='padding:4px 0 4px 16px'>{line}</div>"
    evidence = "".join(f"<pre>{escape(exchange.text())}</pre>" for exchange in result.exchanges)
    required = f"<p><b>Required:</b> {escape(result.requirement)}</p>" if result.requirement else ""
    observed = f"<p><b>Observed:</b> {escape(result.observed)}</p>" if result.observed else ""
    return (f"<details><summary><span class='check'>{line}</span>"
            f"</summary><div class='req'>{required}{observed}{evidence}</div></details>")
