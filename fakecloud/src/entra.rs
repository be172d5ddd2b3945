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

/// The ARM audience a `.default` scope asks for (either of those ARM accepts), as tokens carry it.
fn arm_audience(scope: &str) -> Option<&'static str> {
    let resource = scope_resource(scope)?;
    crate::ARM_AUDIENCES
        .iter()
        .copied()
        .find(|known| known.trim_end_matches('/') == resource)
}

/// The registered client a request names, and the ARM audience its `.default` scope asks for.
fn known_client(
    world: &crate::world::World,
    client_id: &str,
    tenant: &str,
    scope: &str,
) -> Result<(crate::world::ServicePrincipal, &'static str), Rejection> {
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
    let Some(audience) = arm_audience(scope) else {
        return Err(Box::new(entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!("The provided value for the input parameter 'scope' is not valid: '{scope}'."),
        )));
    };
    Ok((principal.clone(), audience))
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
    let (principal, audience) =
        match known_client(&world, field("client_id"), req.seg(0), field("scope")) {
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
        "aud": audience,
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
    let audience = match known_client(&world, &client_id, &tenant, scope) {
        Ok((_, audience)) => audience,
        Err(resp) => return *resp,
    };
    let device_code = format!("DAQABAAEAAA{}", new_guid().replace('-', ""));
    let user_code = user_code();
    let interval = world.settings.device_code_interval_secs;
    let expires = world.settings.device_code_expires_secs;
    world.device_codes.insert(
        device_code.clone(),
        crate::world::DeviceAuthorization {
            client_id,
            audience,
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
    let audience = auth.audience;
    world.device_codes.remove(&code);
    let now = now_secs();
    let lifetime = settings.token_lifetime_secs;
    let user = "fake-admin@contoso.example";
    let claims = json!({
        "aud": audience,
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
            "scope": format!("{}/user_impersonation", audience.trim_end_matches('/')),
            "expires_in": lifetime.max(0),
            "access_token": shared.signer.sign(&claims),
        }),
    )
}

/// Entra's authority metadata, which MSAL reads before it asks for a token:
/// `/{tenant}/v2.0/.well-known/openid-configuration` (the fake's tenant, `organizations`,
/// `common`), `/common/discovery/instance` (instance discovery for this host) and
/// `/{tenant}/discovery/v2.0/keys`. Every URL in them is the fake's own.
pub fn discovery(shared: &Shared, req: &Req) -> Resp {
    let lower = |i: usize| req.seg(i).to_ascii_lowercase();
    if lower(1) == "discovery" && lower(2) == "instance" {
        return instance_discovery(shared, req);
    }
    let world = shared.world();
    let tenant = req.seg(0);
    if let Err(resp) = check_tenant(&world, tenant, true) {
        return *resp;
    }
    if lower(1) == "discovery" {
        // The fake signs its tokens with a key of its own (HS256) that no client can verify
        // them with, so it publishes no signing key; clients never read it for a token.
        return json_response(StatusCode::OK, &json!({ "keys": [] }));
    }
    json_response(
        StatusCode::OK,
        &openid_configuration(&shared.base_url, tenant),
    )
}

/// The v2.0 OpenID configuration Entra serves for `tenant`; for the multi-tenant aliases the
/// issuer carries Entra's `{tenantid}` placeholder.
fn openid_configuration(base: &str, tenant: &str) -> Value {
    let multi_tenant = ["organizations", "common"].contains(&tenant);
    let issuer_tenant = if multi_tenant { "{tenantid}" } else { tenant };
    let at = |path: &str| format!("{base}/{tenant}{path}");
    json!({
        "token_endpoint": at("/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": at("/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": at("/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": at("/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": at("/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "azcm-fake.example",
        "cloud_graph_host_name": "graph.azcm-fake.example",
        "msgraph_host": "graph.azcm-fake.example",
    })
}

/// `/common/discovery/instance?authorization_endpoint=…`: the fake knows only its own host;
/// any other authority is Entra's `invalid_instance`.
fn instance_discovery(shared: &Shared, req: &Req) -> Resp {
    let endpoint = req.query("authorization_endpoint").unwrap_or("");
    // By host name: MSAL sends the authority's host without its port.
    let host_of = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let ours = host_of(&shared.base_url);
    let asked = host_of(endpoint);
    if asked.is_none() || asked != ours {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_instance",
            50049,
            "Unknown or invalid instance.",
        );
    }
    let host = ours.unwrap_or_default();
    // The tenant is the authorization endpoint's first path segment.
    let tenant = url::Url::parse(endpoint)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next().map(str::to_string))
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "common".to_string());
    json_response(
        StatusCode::OK,
        &json!({
            "tenant_discovery_endpoint": format!("{}/{tenant}/v2.0/.well-known/openid-configuration", shared.base_url),
            "api-version": "1.1",
            "metadata": [{
                "preferred_network": host,
                "preferred_cache": host,
                "aliases": [host],
            }],
        }),
    )
}
