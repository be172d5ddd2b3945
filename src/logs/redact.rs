//! Redaction of secrets in text while it streams into the log archive: bearer tokens and JWTs,
//! SAS signatures, client secrets and passwords (JSON, key=value, command lines), passwords in
//! URLs (proxy URLs), and extensions' protected settings. Works on bytes, line by line.
//!
//! The patterns run in ASCII mode (`-u`): `\s`, `\b` and `(?i)` mean their ASCII forms, so a
//! secret ends only at ASCII punctuation or space (a non-ASCII byte is masked with it), and the
//! regex crate is built without its Unicode tables.

use regex::bytes::{Captures, Regex};
use std::borrow::Cow;
use std::sync::OnceLock;

pub const MASK: &str = "[REDACTED]";

struct Rule {
    regex: Regex,
    /// Which capture group is the secret (the rest of the match is kept).
    secret_group: usize,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |pattern: &str, secret_group: usize| Rule {
            regex: Regex::new(pattern).expect("redaction patterns compile"),
            secret_group,
        };
        vec![
            // JWTs (access, refresh and ID tokens) anywhere.
            rule(r"(?-u)(eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)", 1),
            // Authorization: Bearer <opaque token>.
            rule(r"(?i-u)(bearer\s+)([A-Za-z0-9._~+/=-]{8,})", 2),
            // SAS signatures in storage URLs.
            rule(r"(?i-u)([?&]sig=)([^&\s\x22'<>]+)", 2),
            // "secret": "...", "password": "...", "protectedSettings": "...", also tokens by key.
            // Python-style dicts (the VM agent's logs) use single quotes: both are covered.
            rule(r#"(?i-u)(["'](?:client_?secret|secret|password|passwd|pwd|protected_?settings|access_?token|refresh_?token|id_?token|client_?assertion|sas_?token|account_?key|private_?key)["']\s*:\s*["'])((?:[^"'\\]|\\.)*)"#, 2),
            // key=value and key: value outside JSON (command lines, form bodies, INI).
            rule(r"(?i-u)\b((?:client_secret|client-secret|secret|password|passwd|pwd|access_token|refresh_token|client_assertion|accountkey|service-principal-secret)\s*[=:]\s*)([^\s&;,\x22']+)", 2),
            // --flag value on command lines.
            rule(r"(?i-u)(--(?:service-principal-secret|access-token|password)\s+)(\S+)", 2),
            // user:password@ in URLs (proxy URLs).
            rule(r"(?i-u)([a-z][a-z0-9+.-]*://[^/\s:@\x22']+:)([^@/\s\x22']+)(@)", 2),
        ]
    })
}

/// A cheap first pass: a line can hold a secret only if it has one of these. Scanned once over
/// whole chunks, so the full rules run on the few lines that need them.
pub fn prefilter() -> &'static Regex {
    static PRE: OnceLock<Regex> = OnceLock::new();
    PRE.get_or_init(|| {
        Regex::new(r"(?i-u)eyJ|bearer|sig=|secret|passw|pwd|protected|token|assertion|accountkey|account_key|private_?key|://[^/\s@]*@")
            .expect("the prefilter compiles")
    })
}

/// The line with every secret replaced, and how many were.
pub fn redact_line(line: &[u8]) -> (Cow<'_, [u8]>, usize) {
    let mut current: Cow<'_, [u8]> = Cow::Borrowed(line);
    let mut count = 0;
    for rule in rules() {
        if !rule.regex.is_match(&current) {
            continue;
        }
        let replaced = rule
            .regex
            .replace_all(&current, |caps: &Captures<'_>| {
                count += 1;
                let whole = caps.get(0).expect("a match");
                let secret = caps.get(rule.secret_group).expect("the secret group");
                let mut out = Vec::with_capacity(whole.len());
                out.extend_from_slice(&whole.as_bytes()[..secret.start() - whole.start()]);
                out.extend_from_slice(MASK.as_bytes());
                out.extend_from_slice(&whole.as_bytes()[secret.end() - whole.start()..]);
                out
            })
            .into_owned();
        current = Cow::Owned(replaced);
    }
    (current, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        String::from_utf8(redact_line(text.as_bytes()).0.into_owned()).unwrap()
    }

    #[test]
    fn every_kind_of_secret_is_masked() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeQ";
        for (input, secret) in [
            (format!("token={jwt} end"), jwt.to_string()),
            (
                "Authorization: Bearer abcdefGHIJ123456789.xyz".to_string(),
                "abcdefGHIJ123456789.xyz".to_string(),
            ),
            (
                "GET https://acct.blob.core.windows.net/c/b?sv=2024&sig=CANARYsig%2Bvalue&se=1"
                    .to_string(),
                "CANARYsig%2Bvalue".to_string(),
            ),
            (
                r#"{"clientSecret": "CANARY~secret.value", "other": 1}"#.to_string(),
                "CANARY~secret.value".to_string(),
            ),
            (
                r#"{"protectedSettings": "MIIB+CANARYbase64=="}"#.to_string(),
                "MIIB+CANARYbase64==".to_string(),
            ),
            (
                "client_secret=CANARYformsecret&grant_type=client_credentials".to_string(),
                "CANARYformsecret".to_string(),
            ),
            (
                "azcmagent connect --service-principal-secret CANARYcli".to_string(),
                "CANARYcli".to_string(),
            ),
            (
                "proxy http://arc:CANARYproxypw@proxy.contoso.corp:3128".to_string(),
                "CANARYproxypw".to_string(),
            ),
            ("Password: CANARYini".to_string(), "CANARYini".to_string()),
        ] {
            let out = r(&input);
            assert!(!out.contains(&secret), "{input} -> {out}");
            assert!(out.contains(MASK), "{out}");
        }
        // Every rule's secret is behind a prefilter hit.
        for input in [
            "eyJabc.def.ghi",
            "Bearer x",
            "a?sig=1",
            "client_secret=1",
            "Password: 1",
            "--access-token x",
            "http://u:p@h",
        ] {
            assert!(prefilter().is_match(input.as_bytes()), "{input}");
        }
        let plain = "2026-11-23T10:00:00Z INFO himds heartbeat sent (status 200)";
        assert!(!prefilter().is_match(plain.as_bytes()));
        assert_eq!(r(plain), plain);
        assert_eq!(redact_line(plain.as_bytes()).1, 0);
        assert!(
            r("proxy http://arc:pw@proxy:3128").starts_with("proxy http://arc:[REDACTED]@proxy")
        );
    }
}
