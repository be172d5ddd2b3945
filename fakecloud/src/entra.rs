//! Entra ID: the v2.0 token endpoint for the client-credentials grant with a client secret,
//! answering with real-shaped tokens and real-shaped AADSTS errors.

use crate::server::{json_response, Rejection, Req, Resp, Shared};
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

/// The tenant of a request path, or Entra's error: the fake's tenant, or (for user sign-in)
/// the multi-tenant aliases `organizations` and `common`.
fn check_tenant(
    world: &crate::world::World,
    tenant: &str,
    user_sign_in: bool,
) -> Result<(), Rejection> {
    let known = tenant.eq_ignore_ascii_case(&world.tenant_id)
        || user_sign_in && ["organizations", "common"].contains(&tenant);
    if known {
        return Ok(());
    }
    Err(Box::new(entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
    )))
}

/// The registered client a request names, when it asks for ARM's `.default` scope.
fn known_client(
    world: &crate::world::World,
    client_id: &str,
    tenant: &str,
    audience: &str,
    scope: &str,
) -> Result<crate::world::ServicePrincipal, Rejection> {
    let Some(principal) = world
        .principals
        .iter()
        .find(|p| p.client_id.eq_ignore_ascii_case(client_id))
    else {
        return Err(Box::new(entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        )));
    };
    if scope_resource(scope) != Some(audience.trim_end_matches('/')) {
        return Err(Box::new(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!("The provided value for the input parameter 'scope' is not valid: '{scope}'."),
        )));
    }
    Ok(principal.clone())
}

pub fn token(shared: &Shared, req: &Req) -> Resp {
    let world = shared.world();
    let tenant = req.seg(0);
    let device_code_grant = url::form_urlencoded::parse(&req.body)
        .any(|(k, v)| k == "grant_type" && v == DEVICE_CODE_GRANT);
    if let Err(resp) = check_tenant(&world, tenant, device_code_grant) {
        return *resp;
    }
    let form = form(req);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("grant_type") == DEVICE_CODE_GRANT {
        drop(world);
        return device_code_token(shared, &form);
    }
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
    let principal = match known_client(
        &world,
        field("client_id"),
        req.seg(0),
        &shared.audience,
        field("scope"),
    ) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    if let Some(assertion) = form.get("client_assertion") {
        if field("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900023,
                "Specified client_assertion_type is not supported.",
            );
        }
        let endpoint = format!("{}/{}/oauth2/v2.0/token", shared.base_url, tenant);
        if let Err(why) = verify_assertion(assertion, &principal, &endpoint) {
            return entra_error(StatusCode::UNAUTHORIZED, "invalid_client", why.0, why.1);
        }
    } else {
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

/// Checks a client assertion as Entra ID does: RS256, signed by a certificate registered on
/// the principal (found by its x5t / x5t#S256 thumbprint), for this token endpoint, issued by
/// and about the client, and within its lifetime.
fn verify_assertion(
    jwt: &str,
    principal: &crate::world::ServicePrincipal,
    endpoint: &str,
) -> Result<(), (u32, &'static str)> {
    use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha1::Digest as _;
    use x509_cert::der::Decode;

    let malformed = (50027, "JWT token is invalid or malformed.");
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let (Some(header), Some(claims)) = (decode(h), decode(c)) else {
        return Err(malformed);
    };
    if header["alg"] != "RS256" {
        return Err((5002738, "The client assertion must be signed with RS256."));
    }
    let signature = URL_SAFE_NO_PAD.decode(sig).map_err(|_| malformed)?;
    let mut matched = None;
    for cert_pem in &principal.certificates {
        let Ok(block) = pem_block(cert_pem) else {
            continue;
        };
        let sha1 = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&block));
        let sha256 = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&block));
        if header["x5t"].as_str() == Some(sha1.as_str())
            || header["x5t#S256"].as_str() == Some(sha256.as_str())
        {
            matched = Some(block);
        }
    }
    let Some(der) = matched else {
        return Err((700027, "The certificate with identifier used to sign the client assertion is not registered on application."));
    };
    let cert = x509_cert::Certificate::from_der(&der).map_err(|_| malformed)?;
    // The key's own bits (PKCS #1 RSAPublicKey), whatever the algorithm parameters say.
    let key = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(format!("{h}.{c}").as_bytes(), &signature)
        .map_err(|_| (700027, "Client assertion failed signature validation."))?;
    if !claims["aud"]
        .as_str()
        .is_some_and(|a| a.eq_ignore_ascii_case(endpoint))
    {
        return Err((
            700212,
            "No matching federated identity record found for presented assertion audience.",
        ));
    }
    let client = principal.client_id.as_str();
    if claims["iss"].as_str() != Some(client) || claims["sub"].as_str() != Some(client) {
        return Err((
            700211,
            "No matching federated identity record found for presented assertion issuer.",
        ));
    }
    let now = now_secs();
    if claims["exp"].as_i64().unwrap_or(0) <= now
        || claims["nbf"].as_i64().unwrap_or(i64::MAX) > now + 300
    {
        return Err((
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
}

/// The DER of the first CERTIFICATE block of a PEM text.
pub(crate) fn pem_block(text: &str) -> Result<Vec<u8>, ()> {
    use base64::Engine;
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| ())
}

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..9)
        .map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char)
        .collect()
}

/// `/{tenant}/oauth2/v2.0/devicecode`: starts a device authorization for a known client.
pub fn device_code(shared: &Shared, req: &Req) -> Resp {
    use std::time::{Duration, Instant};
    let mut world = shared.world();
    let tenant = req.seg(0).to_string();
    if let Err(resp) = check_tenant(&world, &tenant, true) {
        return *resp;
    }
    let form = form(req);
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let scope = form.get("scope").map(String::as_str).unwrap_or("");
    if let Err(resp) = known_client(&world, &client_id, &tenant, &shared.audience, scope) {
        return *resp;
    }
    let device_code = format!("DAQABAAEAAA{}", new_guid().replace('-', ""));
    let user_code = user_code();
    let interval = world.settings.device_code_interval_secs;
    let expires = world.settings.device_code_expires_secs;
    world.device_codes.insert(
        device_code.clone(),
        crate::world::DeviceAuthorization {
            client_id,
            user_code: user_code.clone(),
            expires: Instant::now() + Duration::from_secs(expires),
            interval: Duration::from_secs(interval),
            polls: 0,
            last_poll: None,
            slowed: false,
        },
    );
    let verification_uri = format!("{}/devicelogin", shared.base_url);
    json_response(
        StatusCode::OK,
        &json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "expires_in": expires,
            "interval": interval,
            "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
        }),
    )
}

/// Polls of a device code: pending until the scripted outcome, with `slow_down` when polled
/// faster than the interval (or once, when the scenario asks).
fn device_code_token(shared: &Shared, form: &HashMap<String, String>) -> Resp {
    use std::time::{Duration, Instant};
    let mut world = shared.world();
    let settings = world.settings.clone();
    let tenant_id = world.tenant_id.clone();
    let code = form.get("device_code").cloned().unwrap_or_default();
    let Some(auth) = world.device_codes.get_mut(&code) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70019,
            "Verification code expired or is not valid.",
        );
    };
    let now = Instant::now();
    if now >= auth.expires
        || settings.device_code_outcome == "ignore"
            && auth.polls >= settings.device_code_pending_polls
    {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            70020,
            "The provided authorization code or refresh token has expired due to inactivity.",
        );
    }
    let too_early = auth
        .last_poll
        .is_some_and(|last| now.duration_since(last) + Duration::from_millis(200) < auth.interval);
    let scripted = settings.device_code_slow_down_first && auth.polls == 0 && !auth.slowed;
    auth.last_poll = Some(now);
    if too_early || scripted {
        if !auth.slowed {
            auth.interval += Duration::from_secs(5);
            auth.slowed = true;
        }
        return entra_error(
            StatusCode::BAD_REQUEST,
            "slow_down",
            70016,
            "The client is polling too fast.",
        );
    }
    auth.polls += 1;
    if auth.polls <= settings.device_code_pending_polls {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            70016,
            "The authorization request is still pending.",
        );
    }
    if settings.device_code_outcome == "decline" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "authorization_declined",
            70000,
            "The user declined the sign-in.",
        );
    }
    let client_id = auth.client_id.clone();
    world.device_codes.remove(&code);
    let now = now_secs();
    let lifetime = settings.token_lifetime_secs;
    let user = "fake-admin@contoso.example";
    let claims = json!({
        "aud": shared.audience,
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now,
        "nbf": now - 300,
        "exp": now + lifetime,
        "tid": tenant_id,
        "oid": new_guid(),
        "upn": user,
        "appid": client_id,
        "idtyp": "user",
        "scp": "user_impersonation",
        "ver": "1.0",
    });
    json_response(
        StatusCode::OK,
        &json!({
            "token_type": "Bearer",
            "scope": format!("{}/user_impersonation", shared.audience.trim_end_matches('/')),
            "expires_in": lifetime.max(0),
            "access_token": shared.signer.sign(&claims),
        }),
    )
}
