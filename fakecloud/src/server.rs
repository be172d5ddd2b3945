//! Serving: the HTTPS listener (Entra ID, ARM, admin), the plain-HTTP IMDS listener, fault
//! injection before any handler runs, and the request log.

use crate::jwt::Signer;
use crate::world::{FaultKind, LoggedRequest, Step, World};
use crate::{admin, arm, entra, imds};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub type Resp = Response<Full<Bytes>>;
/// An early answer from a check (boxed: responses are large).
pub type Rejection = Box<Resp>;

/// Everything the handlers share.
pub struct Shared {
    pub world: Mutex<World>,
    pub signer: Signer,
    /// `https://127.0.0.1:<port>` of the HTTPS listener.
    pub base_url: String,
    /// The audience ARM tokens must carry.
    pub audience: String,
}

impl Shared {
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A parsed request, body read.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Result<Value, Rejection> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Box::new(arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!("The request content was invalid: {e}"),
            ))
        })
    }

    pub fn seg(&self, i: usize) -> &str {
        self.segments.get(i).map(String::as_str).unwrap_or("")
    }
}

pub fn json_response(status: StatusCode, body: &Value) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// ARM's error shape: `{"error":{"code","message"}}`.
pub fn arm_error(status: StatusCode, code: &str, message: &str) -> Resp {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

pub fn empty(status: StatusCode) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

fn classify(method: &Method, segments: &[String]) -> Step {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let s = |i: usize| lower.get(i).map(String::as_str).unwrap_or("");
    match (s(0), s(1), s(2), s(3)) {
        ("_admin", ..) => Step::Admin,
        ("discovery" | "arc" | "his" | "_status", ..) => Step::Check,
        ("metadata", ..) => Step::Imds,
        (_, "oauth2", _, "token") => Step::Token,
        (_, "v2.0", ".well-known", "openid-configuration") if lower.len() == 4 => Step::Discovery,
        ("common", "discovery", "instance", "") if lower.len() == 3 => Step::Discovery,
        (_, "discovery", "v2.0", "keys") if lower.len() == 4 => Step::Discovery,
        (_, "oauth2", _, "devicecode") => Step::DeviceCode,
        ("subscriptions", _, "resourcegroups", _) if lower.len() == 4 => Step::ResourceGroup,
        ("subscriptions", _, "resourcegroups", "") if lower.len() == 3 => Step::ResourceGroupList,
        ("subscriptions", _, "resourcegroups", _) if s(4) == "resources" && lower.len() == 5 => {
            Step::Resources
        }
        ("subscriptions", _, "resourcegroups", _)
            if s(6) == "machines"
                && s(9) == "microsoft.hybridcompute"
                && s(10) == "settings"
                && lower.len() == 12 =>
        {
            Step::MachineSettings
        }
        ("subscriptions", _, "resourcegroups", _)
            if s(6) == "machines"
                && s(9) == "microsoft.automanage"
                && s(10) == "configurationprofileassignments"
                && lower.len() == 12 =>
        {
            Step::Automanage
        }
        ("subscriptions", _, "resourcegroups", _)
            if s(4) == "providers"
                && s(5) == "microsoft.hybridcompute"
                && s(6) == "gateways"
                && lower.len() == 8 =>
        {
            Step::Gateway
        }
        ("subscriptions", _, "resourcegroups", _)
            if s(4) == "providers"
                && s(5) == "microsoft.hybridcompute"
                && s(6) == "machines"
                && lower.len() == 8 =>
        {
            match *method {
                Method::PUT => Step::MachinePut,
                Method::PATCH => Step::MachinePatch,
                Method::DELETE => Step::MachineDelete,
                _ => Step::MachineGet,
            }
        }
        ("subscriptions", _, "resourcegroups", _)
            if s(4) == "providers"
                && s(5) == "microsoft.hybridcompute"
                && s(6) == "machines"
                && lower.len() == 7 =>
        {
            Step::MachineList
        }
        ("subscriptions", _, "providers", "microsoft.hybridcompute")
            if s(4) == "machines" && lower.len() == 5 =>
        {
            Step::MachineList
        }
        ("subscriptions", _, "providers", _) if s(4) == "locations" => Step::LroPoll,
        ("subscriptions", _, "providers", _) if s(4) == "register" => Step::Register,
        ("subscriptions", _, "providers", _) => Step::Provider,
        ("subscriptions", ..) if lower.len() <= 2 => Step::Subscription,
        _ => Step::Other,
    }
}

/// (year, month, day, hour, minute, second) in UTC.
fn civil(at: SystemTime) -> (i64, i64, i64, u64, u64, u64, u64) {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    (y, mo, d, rem / 3600, rem % 3600 / 60, rem % 60, days)
}

/// ISO 8601 / RFC 3339 UTC time, as ARM writes times.
pub fn iso_time(at: SystemTime) -> String {
    let (y, mo, d, h, m, s, _) = civil(at);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

fn http_date(at: SystemTime) -> String {
    // RFC 7231 IMF-fixdate, as ARM sends in Retry-After.
    let (y, mo, d, h, m, s, days) = civil(at);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{weekday}, {d:02} {month} {y} {h:02}:{m:02}:{s:02} GMT")
}

pub fn throttled(retry_after: Duration, as_date: bool) -> Resp {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = arm_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type - Write.",
    );
    let value = if as_date {
        // A hostile test may ask for u64::MAX seconds: the date saturates instead of panicking.
        http_date(
            SystemTime::now()
                .checked_add(Duration::from_secs(secs))
                .unwrap_or(SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799)),
        )
    } else {
        secs.to_string()
    };
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_str(&value).expect("ascii"));
    resp
}

enum Verdict {
    Answer(Resp),
    Reset,
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Resp, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, 4 * 1024 * 1024).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(arm_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLarge",
                "The request body is too large.",
            ))
        }
    };
    let path = parts.uri.path().to_string();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
        .collect();
    let step = classify(&parts.method, &segments);
    let req = Req {
        method: parts.method,
        path,
        segments,
        query,
        headers: parts.headers,
        body,
    };

    let fault = if step == Step::Admin {
        None
    } else {
        shared.world().take_fault(step)
    };
    let fault_name = fault.as_ref().map(|f| format!("{f:?}"));
    let verdict = match &fault {
        Some(FaultKind::Reset) => Verdict::Reset,
        Some(FaultKind::Throttle {
            retry_after_secs,
            http_date,
        }) => Verdict::Answer(throttled(
            Duration::from_secs(*retry_after_secs),
            *http_date,
        )),
        Some(FaultKind::Status { status, code }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = code
                .clone()
                .unwrap_or_else(|| "InternalServerError".to_string());
            Verdict::Answer(arm_error(
                status,
                &code,
                "The fake cloud was asked to fail this request.",
            ))
        }
        other => {
            if let Some(FaultKind::Delay { ms }) = other {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
            }
            if step == Step::Check {
                let delay = shared.world().settings.check_delay_ms;
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let mut resp = route(&shared, step, &req);
            if matches!(
                other,
                Some(FaultKind::TruncatedJson | FaultKind::InvalidJson)
            ) {
                let full = resp
                    .body()
                    .clone()
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                let mangled = if matches!(other, Some(FaultKind::TruncatedJson)) {
                    let text = if full.is_empty() {
                        Bytes::from_static(b"{\"value\": [")
                    } else {
                        full
                    };
                    text.slice(..text.len() / 2)
                } else {
                    Bytes::from_static(b"<html>this is not JSON</html>")
                };
                *resp.status_mut() = StatusCode::OK;
                *resp.body_mut() = Full::new(mangled);
            }
            if let Some(FaultKind::OversizedBody { mib }) = other {
                let size = usize::try_from(*mib).unwrap_or(usize::MAX).min(1024) << 20;
                *resp.status_mut() = StatusCode::OK;
                resp.headers_mut().remove(hyper::header::CONTENT_LENGTH);
                *resp.body_mut() = Full::new(Bytes::from(vec![b' '; size]));
            }
            Verdict::Answer(resp)
        }
    };

    let mut world = shared.world();
    let status = match &verdict {
        Verdict::Answer(r) => r.status().as_u16(),
        Verdict::Reset => 0,
    };
    if step != Step::Admin {
        let logged = LoggedRequest {
            method: req.method.to_string(),
            path: req.path.clone(),
            query: req
                .query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
            step,
            status,
            fault: fault_name,
            client_request_id: req.header("x-ms-client-request-id").map(str::to_string),
            correlation_id: req
                .header("x-ms-correlation-request-id")
                .map(str::to_string),
            user_agent: req.header("user-agent").map(str::to_string),
            ms_since_start: world.started.elapsed().as_millis(),
        };
        world.requests.push(logged);
    }
    drop(world);
    match verdict {
        Verdict::Reset => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fault: reset",
        )),
        Verdict::Answer(mut resp) => {
            let request_id = crate::world::new_guid();
            let offset = shared.world().settings.clock_offset_secs;
            let now = SystemTime::now();
            let server_time = if offset >= 0 {
                now + Duration::from_secs(offset as u64)
            } else {
                now - Duration::from_secs(offset.unsigned_abs())
            };
            let headers = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&http_date(server_time)) {
                headers.insert(hyper::header::DATE, v);
            }
            headers.insert(
                "x-ms-request-id",
                HeaderValue::from_str(&request_id).expect("ascii"),
            );
            let correlation = req
                .header("x-ms-correlation-request-id")
                .map(str::to_string)
                .unwrap_or_else(|| request_id.clone());
            if let Ok(v) = HeaderValue::from_str(&correlation) {
                headers.insert("x-ms-correlation-request-id", v);
            }
            Ok(resp)
        }
    }
}

fn route(shared: &Shared, step: Step, req: &Req) -> Resp {
    match step {
        Step::Admin => admin::handle(shared, req),
        Step::Token => entra::token(shared, req),
        Step::DeviceCode => entra::device_code(shared, req),
        Step::Discovery => entra::discovery(shared, req),
        Step::Imds => imds::handle(shared, req),
        Step::Check => crate::check::handle(shared, req),
        Step::Other => arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No route for {} {}", req.method, req.path),
        ),
        _ => arm::handle(shared, step, req),
    }
}

/// Serves HTTPS on `listener` until the runtime stops.
pub async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_one_tls(stream, acceptor.clone(), shared.clone()));
    }
}

/// One HTTPS connection.
pub async fn serve_one_tls(
    stream: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    let Ok(tls) = acceptor.accept(stream).await else {
        return;
    };
    let service = service_fn(move |req| handle(shared.clone(), req));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// Serves plain HTTP (the IMDS stand-in) on `listener`.
pub async fn serve_plain(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(shared.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(http_date(t), "Wed, 18 Nov 2026 11:06:40 GMT");
        assert_eq!(iso_time(t), "2026-11-18T11:06:40Z");
    }
}
