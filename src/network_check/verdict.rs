//! The verdict on a check and its azcmagent-style text view, shared by `check` and by the check
//! `connect` runs first.

use super::CheckReport;
use crate::error::{AzcmError, ErrorCode, Result};

/// AZCM0026 when a required endpoint is unreachable or breaks the private-link rule; the
/// error's `details.check` holds the whole report.
pub fn verdict(report: &CheckReport) -> Result<()> {
    if report.summary.ok {
        return Ok(());
    }
    let failed: Vec<&super::EndpointResult> = report
        .endpoints
        .iter()
        .filter(|e| e.required && !e.ok)
        .collect();
    // One cause, once, with the endpoints it hit: "dns: dnsFailure at https://a, https://b".
    let mut causes: Vec<(String, Vec<&str>)> = Vec::new();
    for e in &failed {
        let cause = match &e.failure {
            Some(f) => format!("{}: {}", f.stage, f.kind),
            None => "failed".to_string(),
        };
        match causes.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, urls)) => urls.push(&e.url),
            None => causes.push((cause, vec![&e.url])),
        }
    }
    let causes: Vec<String> = causes
        .into_iter()
        .map(|(cause, urls)| format!("{cause} at {}", urls.join(", ")))
        .collect();
    Err(AzcmError::new(
        ErrorCode::NETWORK,
        format!(
            "{} of {} required endpoints failed the check: {}",
            failed.len(),
            report.summary.required_total,
            causes.join("; ")
        ),
    )
    .with_remediation("Each failure above names its stage and what to do; `azcm check --json` gives every stage's outcome and timing.")
    .with_detail("check", serde_json::to_value(report).expect("reports serialise"))
    .with_view(render(report)))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Failures with the same stage, kind and fix, and the endpoints (with messages) they hit.
struct FailureGroup<'a> {
    required: bool,
    stage: &'a str,
    kind: String,
    fix: &'a str,
    hits: Vec<(&'a str, &'a str)>,
}

/// The azcmagent-style table, a summary line, and one line per failure with its remedy.
pub fn render(report: &CheckReport) -> String {
    let header = [
        "Use Case",
        "Endpoint",
        "Reachable",
        "Private",
        "Proxy",
        "TLS",
        "ms",
    ];
    let rows: Vec<[String; 7]> = report
        .endpoints
        .iter()
        .map(|e| {
            let private = match &e.stages.dns {
                Some(d) if d.ok => yes_no(d.addresses.iter().any(|a| a.private)).to_string(),
                _ => "-".into(),
            };
            let tls = match &e.stages.tls {
                Some(t) if t.ok => t.version.clone().unwrap_or_default(),
                Some(_) => e
                    .failure
                    .as_ref()
                    .map(|f| f.kind.to_string())
                    .unwrap_or("failed".into()),
                None => "-".into(),
            };
            let reachable = match (e.reachable, e.ok) {
                (true, true) => "yes",
                (true, false) => "yes (!)",
                (false, _) => "no",
            };
            [
                format!(
                    "{}{}",
                    e.use_case,
                    if e.required { "" } else { " (optional)" }
                ),
                e.url.clone(),
                reachable.to_string(),
                private,
                e.route.to_string(),
                tls,
                e.total_ms.to_string(),
            ]
        })
        .collect();
    let mut out = crate::view::text_table(header, &rows);
    let s = &report.summary;
    out.push('\n');
    out.push_str(&format!(
        "{} of {} required endpoints reachable{} ({} {}, {} ms, DNS: {}{}{}{})\n",
        s.required_reachable,
        s.required_total,
        if s.ok { "" } else { " — check FAILED" },
        report.cloud,
        report.location,
        s.wall_ms,
        s.dns_server,
        s.proxy
            .as_ref()
            .map(|p| format!(", proxy {p}"))
            .unwrap_or_default(),
        s.gateway
            .as_ref()
            .map(|g| format!(", gateway {g}"))
            .unwrap_or_default(),
        if s.private_link_check {
            ", private-link rule on"
        } else {
            ""
        },
    ));
    out.push_str(&format!(
        "Regional HIS host: {} ({})\n",
        s.his_region.code.as_deref().unwrap_or("unknown"),
        s.his_region.detail
    ));
    if let Some(skew) = &s.clock_skew {
        out.push_str(&format!(
            "Clock skew: {} s against {}{}\n",
            skew.seconds,
            skew.source,
            if skew.ok {
                ""
            } else {
                " — more than 120 s: sync this machine's clock"
            }
        ));
    }
    out.push_str(&format!(
        "Azure VM: {}\n",
        if s.azure_vm.detected {
            s.azure_vm.evidence.join("; ")
        } else {
            "no".into()
        }
    ));
    for skipped in &s.skipped {
        out.push_str(&format!("Skipped {}: {}\n", skipped.url, skipped.reason));
    }
    let failures: Vec<_> = report
        .endpoints
        .iter()
        .filter_map(|e| e.failure.as_ref().map(|f| (e, f)))
        .collect();
    if !failures.is_empty() {
        out.push('\n');
        // Identical causes (the same stage, kind and fix) once, with every endpoint they hit:
        // offline, eleven DNS failures are one line, not eleven.
        let mut groups: Vec<FailureGroup<'_>> = Vec::new();
        for (e, f) in failures {
            let kind = f.kind.to_string();
            match groups.iter_mut().find(|g| {
                g.required == e.required
                    && g.stage == f.stage
                    && g.kind == kind
                    && g.fix == f.remediation
            }) {
                Some(group) => group.hits.push((&e.url, &f.message)),
                None => groups.push(FailureGroup {
                    required: e.required,
                    stage: f.stage,
                    kind,
                    fix: &f.remediation,
                    hits: vec![(&e.url, &f.message)],
                }),
            }
        }
        for g in groups {
            let level = if g.required { "FAIL" } else { "WARN" };
            let (stage, fix) = (g.stage, g.fix);
            if let [(url, message)] = g.hits.as_slice() {
                out.push_str(&format!(
                    "{level} {url} — {stage}: {message}\n    Fix: {fix}\n"
                ));
            } else {
                let urls: Vec<&str> = g.hits.iter().map(|(u, _)| *u).collect();
                out.push_str(&format!(
                    "{level} {} endpoints — {stage}: {} (and the same at the others)\n    Endpoints: {}\n    Fix: {fix}\n",
                    g.hits.len(),
                    g.hits[0].1,
                    urls.join(", ")
                ));
            }
        }
    }
    out
}
