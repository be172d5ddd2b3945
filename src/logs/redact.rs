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

/// A key that names a secret: any identifier that ends in one of these words, so
/// `ClientSecret`, `client_secret`, `proxyPassword`, `SharedAccessKey`, `x-api-key` and
/// `nextToken` all count (a little too much is masked rather than too little).
const SECRET_KEY: &str = r"[A-Za-z0-9_.-]*?(?:secret|password|passwd|pwd|passphrase|token|assertion|credentials?|protected_?settings|(?:account|access|api|private|primary|secondary|subscription|shared_?access|master|storage|signing|encryption)[_-]?key|connection_?string|sas|sig(?:nature)?)";

/// The forms a secret takes in the logs azcm collects, one rule each (tested one by one, in
/// both letter cases): what precedes the secret is kept, the secret becomes [`MASK`].
pub const FORMS: &[(&str, &str)] = &[
    // JWTs (access, refresh and ID tokens) anywhere.
    (
        "jwt",
        r"(?-u)()(eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)",
    ),
    // Authorization: Bearer <token> / Basic <user:password in base64>.
    (
        "authorization header",
        r"(?i-u)(\b(?:bearer|basic)\s+)([A-Za-z0-9._~+/=-]{8,})",
    ),
    // JSON and Python dicts: "clientSecret": "…", 'password': '…'.
    (
        "json",
        r#"(?i-u)(["']SECRET_KEY["']\s*:\s*["'])((?:[^"'\\]|\\.)*)"#,
    ),
    // key="…" and key: "…": XML attributes, YAML, INI and shell with double quotes.
    (
        "double-quoted value",
        r#"(?i-u)(\bSECRET_KEY\s*[=:]\s*")((?:[^"\\]|\\.)*)"#,
    ),
    // key='…' and key: '…'.
    (
        "single-quoted value",
        r#"(?i-u)(\bSECRET_KEY\s*[=:]\s*')((?:[^'\\]|\\.)*)"#,
    ),
    // key=value, key: value: command lines, form bodies, INI, YAML, URL queries
    // (?client_secret=…&sig=…) and connection strings (AccountKey=…;SharedAccessKey=…).
    (
        "key=value",
        r#"(?i-u)(\bSECRET_KEY\s*[=:]\s*)([^\s&;,"'<>]+)"#,
    ),
    // <Password>…</Password>: XML elements.
    ("xml element", r"(?i-u)(<SECRET_KEY>)([^<]+)"),
    // --flag value on command lines.
    (
        "command-line flag",
        r"(?i-u)(--(?:service-principal-secret|access-token|password|client-secret|secret)\s+)([^\s-]\S*)",
    ),
    // user:password@ in URLs (proxy URLs).
    (
        "url userinfo",
        r#"(?i-u)([a-z][a-z0-9+.-]*://[^/\s:@"']+:)([^@/\s"']+)(@)"#,
    ),
];

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        FORMS
            .iter()
            .map(|(_, pattern)| Rule {
                regex: Regex::new(&pattern.replace("SECRET_KEY", SECRET_KEY))
                    .expect("redaction patterns compile"),
                secret_group: 2,
            })
            .collect()
    })
}

/// A cheap first pass: a line can hold a secret only if it has one of these. Scanned once over
/// whole chunks, so the full rules run on the few lines that need them.
pub fn prefilter() -> &'static Regex {
    static PRE: OnceLock<Regex> = OnceLock::new();
    PRE.get_or_init(|| {
        Regex::new(r"(?i-u)eyJ|bearer|basic|sig|secret|passw|pwd|passphrase|protected|token|assertion|credential|key|connection_?string|sas|://[^/\s@]*@")
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
                let whole = caps.get(0).expect("a match");
                let secret = caps.get(rule.secret_group).expect("the secret group");
                if secret.as_bytes() == MASK.as_bytes() {
                    // Masked already by an earlier form.
                    return whole.as_bytes().to_vec();
                }
                count += 1;
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

    /// One case per form of [`FORMS`] and per secret the issue tracker named; each also runs with
    /// its key in upper and in lower case.
    #[test]
    fn every_form_is_masked_in_both_letter_cases() {
        let cases: &[(&str, &str, &str)] = &[
            ("jwt", "got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl ok", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl"),
            ("authorization header", "Authorization: Bearer CANARYopaque.token", "CANARYopaque.token"),
            ("authorization header", "Authorization: Basic YXJjOkNBTkFSWXB3ZA==", "YXJjOkNBTkFSWXB3ZA=="),
            ("json", r#"{"clientSecret": "CANARY~json", "n": 1}"#, "CANARY~json"),
            ("json", r#"{'password': 'CANARYpy'}"#, "CANARYpy"),
            ("json", r#"{"apiKey":"CANARYapikey"}"#, "CANARYapikey"),
            ("double-quoted value", r#"<proxy user="arc" password="CANARY xml attr" />"#, "CANARY xml attr"),
            ("double-quoted value", r#"clientSecret: "CANARYyaml""#, "CANARYyaml"),
            ("single-quoted value", "password='CANARY single'", "CANARY single"),
            ("key=value", "ClientSecret=CANARYcs rest", "CANARYcs"),
            ("key=value", "clientSecret: CANARYyamlbare", "CANARYyamlbare"),
            ("key=value", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=CANARYsak=;EntityPath=q", "CANARYsak="),
            ("key=value", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=CANARYak==;EndpointSuffix=core.windows.net", "CANARYak=="),
            ("key=value", "apiKey=CANARYapi", "CANARYapi"),
            ("key=value", "token=CANARYtok", "CANARYtok"),
            ("key=value", "GET /cb?code=1&client_secret=CANARYquery&x=2", "CANARYquery"),
            ("key=value", "https://acct.blob.core.windows.net/c/b?sv=2024&sig=CANARYsig%2B&se=1", "CANARYsig%2B"),
            ("key=value", "Password: CANARYini", "CANARYini"),
            ("xml element", "<Password>CANARYelement</Password>", "CANARYelement"),
            ("command-line flag", "azcmagent connect --service-principal-secret CANARYcli -g rg", "CANARYcli"),
            ("url userinfo", "proxy http://arc:CANARYproxypw@proxy.contoso.corp:3128", "CANARYproxypw"),
        ];
        let names: Vec<&str> = FORMS.iter().map(|(n, _)| *n).collect();
        for (form, _, _) in cases {
            assert!(names.contains(form), "unknown form {form}");
        }
        for name in &names {
            assert!(
                cases.iter().any(|(f, _, _)| f == name),
                "form {name} has no case"
            );
        }
        for (form, input, secret) in cases {
            // The key in upper and in lower case; the secret as it was.
            let key_end = input.find(secret).unwrap();
            for key_case in [
                input[..key_end].to_uppercase(),
                input[..key_end].to_lowercase(),
            ] {
                let line = format!("{key_case}{}", &input[key_end..]);
                if *form == "jwt" && !line.contains("eyJ") {
                    continue;
                }
                let (out, count) = redact_line(line.as_bytes());
                let out = String::from_utf8_lossy(&out);
                assert!(!out.contains(secret), "{form}: {line} -> {out}");
                assert!(count >= 1 && out.contains(MASK), "{form}: {line} -> {out}");
                assert!(
                    prefilter().is_match(line.as_bytes()),
                    "{form}: prefilter misses {line}"
                );
            }
        }
    }

    #[test]
    fn binary_and_non_utf8_lines_are_redacted_too() {
        let mut line = b"\x00\x00\xff\xfe garbage ".to_vec();
        line.extend_from_slice(b"password=CANARYbin\x00 more");
        let (out, count) = redact_line(&line);
        assert_eq!(count, 1);
        assert!(!out.windows(9).any(|w| w == b"CANARYbin"));
    }

    #[test]
    fn a_mask_is_not_masked_again() {
        let (out, count) = redact_line(br#"{"password": "CANARY"} password=CANARY2"#);
        assert_eq!(count, 2, "{}", String::from_utf8_lossy(&out));
    }

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
