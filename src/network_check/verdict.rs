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
    let failed: Vec<String> = report
        .endpoints
        .iter()
        .filter(|e| e.required && !e.ok)
        .map(|e| match &e.failure {
            Some(f) => format!("{} ({}: {})", e.url, f.stage, f.kind),
            None => e.url.clone(),
        })
        .collect();
    Err(AzcmError::new(
        ErrorCode::NETWORK,
        format!(
            "{} of {} required endpoints failed the check: {}",
            failed.len(),
            report.summary.required_total,
            failed.join(", ")
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
        for (e, f) in failures {
            out.push_str(&format!(
                "{} {} — {}: {}\n    Fix: {}\n",
                if e.required { "FAIL" } else { "WARN" },
                e.url,
                f.stage,
                f.message,
                f.remediation
            ));
        }
    }
    out
}
