//! The ARM client: every call carries a fresh client request id and the run's correlation id;
//! 429 and 5xx answers, resets, timeouts and garbled bodies are retried with `Retry-After` or
//! exponential backoff with full jitter, within a bounded total time; a token ARM calls expired
//! is renewed once; long-running operations are polled to the end.

pub mod session;

use crate::auth::Tokens;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::report::Reporter;
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

/// The HybridCompute api-version azcm uses unless told otherwise: the newest stable one in
/// the published spec azcm follows.
pub const DEFAULT_HYBRIDCOMPUTE_API_VERSION: &str = "2026-09-01";
/// Environment variable choosing another HybridCompute api-version (e.g. for a sovereign cloud
/// that lags behind).
pub const API_VERSION_ENV: &str = "AZCM_HYBRIDCOMPUTE_API_VERSION";

/// The HybridCompute api-version to use: `AZCM_HYBRIDCOMPUTE_API_VERSION` or the default.
pub fn hybridcompute_api_version() -> Result<String> {
    let Some(version) = std::env::var(API_VERSION_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(DEFAULT_HYBRIDCOMPUTE_API_VERSION.to_string());
    };
    let version = version.trim();
    let date = version.get(..10).unwrap_or("");
    let well_formed = date.len() == 10
        && date.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (version.len() == 10 || version[10..] == *"-preview");
    if !well_formed {
        return Err(AzcmError::invalid_argument(format!(
            "{API_VERSION_ENV} must be an api-version like {DEFAULT_HYBRIDCOMPUTE_API_VERSION} or 2024-05-20-preview, not '{version}'"
        )));
    }
    Ok(version.to_string())
}
pub const RESOURCES_API_VERSION: &str = "2021-04-01";
/// Arc gateways and a machine's gateway settings are (so far) in HybridCompute's preview API.
pub const GATEWAY_API_VERSION: &str = "2024-05-20-preview";
pub const AUTOMANAGE_API_VERSION: &str = "2022-05-04";
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";

const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(16);
/// The longest wait a server's `Retry-After` can ask for: more than any retry budget (3600 s),
/// so a longer ask just means "give up now" — never an overflowing deadline.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// The shortest pause between two tries, whatever the server says (`Retry-After: 0`): a
/// server that asks for no pause must not get a request loop.
pub const MIN_RETRY_PAUSE: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

pub struct Arm<'a> {
    http: reqwest::Client,
    base: url::Url,
    tokens: Tokens,
    deadline: Instant,
    correlation_id: String,
    report: &'a dyn Reporter,
}

/// An answer's body as JSON: empty is `null`; `None` when it is not JSON.
pub fn parse_body(bytes: &[u8]) -> Option<Value> {
    if bytes.trim_ascii().is_empty() {
        Some(Value::Null)
    } else {
        serde_json::from_slice(bytes).ok()
    }
}

/// ARM's error code and message from a failed answer's body (`{"error": {"code", "message"}}`),
/// else `HTTP <status>`.
pub fn error_of(body: Option<&Value>, status: u16) -> (Option<String>, String) {
    let error = body.map(|b| &b["error"]);
    let code = error.and_then(|e| e["code"].as_str()).map(str::to_string);
    let message = error
        .and_then(|e| e["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"));
    (code, message)
}

/// `Retry-After` as seconds or an HTTP date, at most [`MAX_RETRY_AFTER`] (a larger number,
/// even past u64, is that cap).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// Whether a pause of `wait` from now still ends before `deadline`.
fn ends_before(wait: Duration, deadline: Instant) -> bool {
    Instant::now()
        .checked_add(wait)
        .is_some_and(|end| end < deadline)
}

fn backoff(attempt: u32) -> Duration {
    let cap = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.min(10))
        .min(BACKOFF_CAP);
    Duration::from_millis(rand::thread_rng().gen_range(0..=cap.as_millis() as u64))
}

/// Why a try failed and whether another try may help.
struct TryFailure {
    transient: bool,
    status: Option<u16>,
    arm_code: Option<String>,
    message: String,
    retry_after: Option<Duration>,
    request_id: Option<String>,
}

impl<'a> Arm<'a> {
    pub fn new(
        http: reqwest::Client,
        resource_manager: &str,
        tokens: Tokens,
        budget: Duration,
        correlation_id: String,
        report: &'a dyn Reporter,
    ) -> Result<Self> {
        let base = url::Url::parse(resource_manager).map_err(|e| {
            AzcmError::invalid_argument(format!(
                "the cloud's ARM endpoint '{resource_manager}' is not a URL: {e}"
            ))
        })?;
        Ok(Self {
            http,
            base,
            tokens,
            deadline: Instant::now() + budget,
            correlation_id,
            report,
        })
    }

    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// An absolute URL for a path, or a polling URL ARM gave — only on ARM's own host, so the
    /// token never travels anywhere else.
    /// A URL that is not ARM's (an LRO or resource URL a server gave) fails the step with the
    /// step's own code: it is the server's doing, not a bug in azcm (AZCM0001).
    fn url(&self, step: &str, code: ErrorCode, path_or_url: &str) -> Result<url::Url> {
        let refused = |why: String| {
            AzcmError::new(code, format!("{step} failed: {why}"))
                .with_detail("step", step)
                .with_detail("reason", "notArmUrl")
                .with_detail("url", crate::error::excerpt(path_or_url))
                .with_remediation("ARM answered with a URL outside the cloud's ARM endpoint, which azcm does not follow (a misconfigured proxy or cloud file, or not ARM at all). Check the cloud's resourceManager endpoint and proxy.url.")
        };
        let url = self.base.join(path_or_url).map_err(|e| {
            refused(format!(
                "ARM gave a URL that is not one ({}: {e})",
                crate::error::excerpt(path_or_url)
            ))
        })?;
        if url.scheme() != "https"
            || url.host_str() != self.base.host_str()
            || url.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(refused(format!(
                "ARM pointed azcm at {}, which is not the cloud's ARM endpoint ({}); not following it",
                crate::error::excerpt(url.origin().ascii_serialization().as_str()),
                self.base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    async fn try_once(
        &self,
        method: &Method,
        url: &url::Url,
        body: Option<&Value>,
        token: &str,
    ) -> std::result::Result<Reply, TryFailure> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token)
            .header("x-ms-client-request-id", crate::ids::new_guid())
            .header("x-ms-correlation-request-id", &self.correlation_id)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        // A request that could not even be built (a token with a line break cannot be a
        // header) fails the same way every time: not retried.
        let network = |e: reqwest::Error| TryFailure {
            transient: !e.is_builder(),
            status: None,
            arm_code: None,
            message: describe_network_error(&e),
            retry_after: None,
            request_id: None,
        };
        let response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let request_id = headers
            .get("x-ms-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = crate::http::read_body(response, crate::http::MAX_ARM_BODY)
            .await
            .map_err(|message| TryFailure {
                transient: false,
                status: Some(status),
                arm_code: None,
                message,
                retry_after,
                request_id: request_id.clone(),
            })?;
        let parsed = parse_body(&text);
        if (200..300).contains(&status) {
            return match parsed {
                Some(body) => Ok(Reply {
                    status,
                    body,
                    headers,
                }),
                None => Err(TryFailure {
                    transient: true,
                    status: Some(status),
                    arm_code: None,
                    message: "ARM answered with a body that is not valid JSON".into(),
                    retry_after,
                    request_id,
                }),
            };
        }
        if (300..400).contains(&status) {
            let location = headers.get("location").and_then(|v| v.to_str().ok());
            return Err(TryFailure {
                transient: false,
                status: Some(status),
                arm_code: None,
                message: crate::http::redirect_refused(status, location),
                retry_after: None,
                request_id,
            });
        }
        let (arm_code, arm_message) = error_of(parsed.as_ref(), status);
        Err(TryFailure {
            transient: matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            status: Some(status),
            arm_code,
            message: arm_message,
            retry_after,
            request_id,
        })
    }

    /// One ARM call with retries. `code` is the AZCM code a final failure of this step gets;
    /// authentication and authorization failures are AZCM0041, network failures AZCM0026.
    pub async fn call(
        &self,
        step: &str,
        code: ErrorCode,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply> {
        let url = self.url(step, code, path)?;
        let mut attempt: u32 = 0;
        let mut renewed = false;
        loop {
            let token = self.tokens.get().await?;
            let failure = match self.try_once(&method, &url, body, &token).await {
                Ok(reply) => return Ok(reply),
                Err(f) => f,
            };
            let expired = failure.status == Some(401)
                && failure.arm_code.as_deref() == Some("ExpiredAuthenticationToken");
            if expired && self.tokens.can_refresh() && !renewed {
                renewed = true;
                self.report.verbose(&format!(
                    "{step}: ARM says the access token expired; getting a new one"
                ));
                continue;
            }
            if failure.transient {
                let wait = failure
                    .retry_after
                    .unwrap_or_else(|| backoff(attempt))
                    .max(MIN_RETRY_PAUSE);
                if ends_before(wait, self.deadline) {
                    // Said to a person (and to JSON consumers, as a progress event) whenever
                    // azcm waits: the throttling server and how long.
                    self.report.progress(
                        crate::report::WAITING,
                        &format!(
                            "{step}: {} — trying again in {:.1} s",
                            match failure.status {
                                Some(429) => "ARM is throttling requests (HTTP 429)".to_string(),
                                Some(s) => format!("ARM answered HTTP {s}"),
                                None => "the connection failed".to_string(),
                            },
                            wait.as_secs_f64()
                        ),
                        None,
                    );
                    self.report.verbose(&format!(
                        "{step}: {}{}; retrying in {:.1}s",
                        failure
                            .status
                            .map(|s| format!("HTTP {s}: "))
                            .unwrap_or_default(),
                        failure.message,
                        wait.as_secs_f64()
                    ));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            return Err(self.final_error(step, code, failure, attempt, expired));
        }
    }

    /// A GET whose 404 means the resource is absent: `Ok(None)` rather than an error.
    pub async fn get_if_exists(
        &self,
        step: &str,
        code: ErrorCode,
        path: &str,
    ) -> Result<Option<Reply>> {
        match self.call(step, code, Method::GET, path, None).await {
            Ok(reply) => Ok(Some(reply)),
            Err(e) if e.details.get("httpStatus") == Some(&Value::from(404)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn final_error(
        &self,
        step: &str,
        code: ErrorCode,
        f: TryFailure,
        attempt: u32,
        expired: bool,
    ) -> AzcmError {
        let code = match f.status {
            None => ErrorCode::NETWORK,
            Some(401) if expired && !self.tokens.can_refresh() => ErrorCode::INVALID_ACCESS_TOKEN,
            Some(401) | Some(403) => ErrorCode::INVALID_CREDENTIALS,
            _ => code,
        };
        let gave_up = if f.transient {
            format!(" (gave up after {} tries)", attempt + 1)
        } else {
            String::new()
        };
        // ARM's own text on lines of its own when it has several (the human view quotes them).
        let message = match f.message.contains('\n') {
            true => format!("ARM's message follows{gave_up}\n{}", f.message),
            false => format!("{}{gave_up}", f.message),
        };
        let mut err = AzcmError::new(
            code,
            format!(
                "{step} failed: {}{message}",
                f.arm_code
                    .as_ref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
            ),
        )
        .with_detail("step", step)
        .with_detail("correlationId", self.correlation_id.clone())
        .with_detail("attempts", attempt + 1);
        if let Some(status) = f.status {
            err = err.with_detail("httpStatus", status);
        }
        if let Some(arm_code) = f.arm_code {
            err = err.with_detail("armErrorCode", arm_code);
        }
        if let Some(request_id) = f.request_id {
            err = err.with_detail("requestId", request_id);
        }
        if code == ErrorCode::INVALID_ACCESS_TOKEN {
            err = err.with_remediation("Get a new access token and run the command again.");
        }
        err
    }

    /// Waits for a long-running operation ARM started (202 with Azure-AsyncOperation or
    /// Location), honouring Retry-After.
    pub async fn wait_for_operation(
        &self,
        step: &str,
        code: ErrorCode,
        started: &Reply,
    ) -> Result<()> {
        if started.status != 202 {
            return Ok(());
        }
        let (url, async_operation) = match (
            started.header("azure-asyncoperation"),
            started.header("location"),
        ) {
            (Some(u), _) => (u, true),
            (None, Some(u)) => (u, false),
            (None, None) => return Ok(()),
        };
        let mut wait = started
            .header("retry-after")
            .and_then(|v| parse_retry_after(&v))
            .unwrap_or(Duration::from_secs(1));
        loop {
            if !ends_before(wait, self.deadline) {
                return Err(
                    AzcmError::new(code, format!("{step} did not finish in time"))
                        .with_detail("step", step),
                );
            }
            if wait >= Duration::from_secs(1) {
                self.report.progress(
                    crate::report::WAITING,
                    &format!(
                        "{step}: ARM is still working — asking again in {:.0} s",
                        wait.as_secs_f64()
                    ),
                    None,
                );
            }
            tokio::time::sleep(wait.max(MIN_RETRY_PAUSE)).await;
            let reply = self.call(step, code, Method::GET, &url, None).await?;
            wait = reply
                .header("retry-after")
                .and_then(|v| parse_retry_after(&v))
                .unwrap_or(Duration::from_secs(1));
            if async_operation {
                match reply.body["status"].as_str().unwrap_or("") {
                    "Succeeded" => return Ok(()),
                    "Failed" | "Canceled" | "Cancelled" => {
                        let message = reply.body["error"]["message"]
                            .as_str()
                            .unwrap_or("the operation failed");
                        return Err(AzcmError::new(code, format!("{step} failed: {message}"))
                            .with_detail("step", step)
                            .with_detail("armErrorCode", reply.body["error"]["code"].clone()));
                    }
                    _ => continue,
                }
            } else if reply.status != 202 {
                return Ok(());
            }
        }
    }
}

fn describe_network_error(e: &reqwest::Error) -> String {
    let text = crate::http::error_chain(e);
    if e.is_timeout() {
        format!("timed out ({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let wait = parse_retry_after(&later).unwrap();
        assert!(
            wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        // Huge numbers from a hostile server are the cap, never an overflow.
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(parse_retry_after("-1"), None);
        assert!(!ends_before(
            Duration::MAX,
            Instant::now() + Duration::from_secs(1)
        ));
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        for attempt in 0..20 {
            let cap = BACKOFF_BASE
                .saturating_mul(1 << attempt.min(10))
                .min(BACKOFF_CAP);
            assert!(backoff(attempt) <= cap);
        }
        let samples: std::collections::BTreeSet<_> = (0..50).map(|_| backoff(5)).collect();
        assert!(samples.len() > 10, "no jitter");
    }
}
