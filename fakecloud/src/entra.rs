//! Entra ID: the v2.0 token endpoint for the client-credentials grant with a client secret,
//! answering with real-shaped tokens and real-shaped AADSTS errors.

use crate::server::{json_response, Req, Resp, Shared};
use crate::world::new_guid;
use hyper::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
}

/// Entra's error body: `error`, `error_description` with the AADSTS code, and ids.
fn entra_error(status: StatusCode, error: &str, aadsts: u32, description: &str) -> Resp {
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{aadsts}: {description} Trace ID: {} Correlation ID: {} Timestamp: {}", new_guid(), new_guid(), now_secs()),
            "error_codes": [aadsts],
            "timestamp": now_secs().to_string(),
            "trace_id": new_guid(),
            "correlation_id": new_guid(),
        }),
    )
}

fn form(req: &Req) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The resource a `<resource>/.default` scope names, compared without a trailing slash.
fn scope_resource(scope: &str) -> Option<&str> {
    scope
        .split_whitespace()
        .find_map(|s| s.strip_suffix("/.default"))
        .map(|r| r.trim_end_matches('/'))
}

pub fn token(shared: &Shared, req: &Req) -> Resp {
    let world = shared.world();
    let tenant = req.seg(0);
    if !tenant.eq_ignore_ascii_case(&world.tenant_id) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        );
    }
    let form = form(req);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!(
                "The app requested an unsupported grant type '{}'.",
                field("grant_type")
            ),
        );
    }
    let client_id = field("client_id");
    let Some(principal) = world
        .principals
        .iter()
        .find(|p| p.client_id.eq_ignore_ascii_case(client_id))
        .cloned()
    else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        );
    };
    let audience = shared.audience.trim_end_matches('/');
    if scope_resource(field("scope")) != Some(audience) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid: '{}'.", field("scope")),
        );
    }
    if form.contains_key("client_assertion") {
        return entra_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application.",
        );
    }
    match principal.secret.as_deref() {
        Some(secret) if secret == field("client_secret") && !secret.is_empty() => {}
        _ => {
            return entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            )
        }
    }
    let now = now_secs();
    let lifetime = world.settings.token_lifetime_secs;
    let claims: Value = json!({
        "aud": shared.audience,
        "iss": format!("https://sts.windows.net/{}/", world.tenant_id),
        "iat": now,
        "nbf": now.min(now + lifetime) - 300,
        "exp": now + lifetime,
        "tid": world.tenant_id,
        "oid": principal.object_id,
        "sub": principal.object_id,
        "appid": principal.client_id,
        "idtyp": "app",
        "ver": "1.0",
    });
    json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "expires_in": lifetime.max(0),
            "ext_expires_in": lifetime.max(0),
            "access_token": shared.signer.sign(&claims),
        }),
    )
}
