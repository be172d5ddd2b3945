//! A stand-in for the agent's local Hybrid Instance Metadata Service (himds, normally
//! http://localhost:40342): `/agentstatus` and `/metadata/instance` (with `Metadata: true`),
//! describing the machine resource the fake created last, with the status a test sets.

use crate::server::{empty, json_response, Resp, Shared};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpListener;

fn answer(shared: &Shared, req: &Request<Incoming>) -> Resp {
    let metadata = req
        .headers()
        .get("metadata")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !metadata {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "Bad request. Required metadata header not specified"}),
        );
    }
    let world = shared.world();
    let settings = &world.settings;
    let machine: Option<&Value> = world
        .last_machine
        .as_ref()
        .and_then(|k| world.machines.get(k));
    match req.uri().path().trim_end_matches('/') {
        // Before any connect the agent is installed but disconnected: no heartbeat.
        "/agentstatus" if machine.is_none() => json_response(
            StatusCode::OK,
            &json!({"status": "Disconnected", "lastHeartbeat": "", "agentVersion": settings.himds_agent_version, "errorCode": "", "errorDetails": "", "errorTimestamp": ""}),
        ),
        "/agentstatus" => {
            let heartbeat = crate::server::iso_time(
                std::time::SystemTime::now() - std::time::Duration::from_secs(30),
            );
            json_response(
                StatusCode::OK,
                &json!({
                    "status": settings.himds_status,
                    "lastHeartbeat": heartbeat,
                    "agentVersion": settings.himds_agent_version,
                    "errorCode": settings.himds_error_code,
                    "errorDetails": settings.himds_error_details,
                    "errorTimestamp": if settings.himds_error_code.is_empty() { String::new() } else { heartbeat.clone() },
                }),
            )
        }
        "/metadata/instance" => match machine {
            Some(m) => {
                let id = m["id"].as_str().unwrap_or("");
                let parts: Vec<&str> = id.split('/').collect();
                // As IMDS writes them: `tags` "name:value;…" and `tagsList` [{name, value}], read
                // live from the resource (the real HIMDS refreshes them from Azure).
                let tags: Vec<(String, String)> = m["tags"]
                    .as_object()
                    .map(|t| {
                        t.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                json_response(
                    StatusCode::OK,
                    &json!({"compute": {
                        "name": m["name"],
                        "location": m["location"],
                        "resourceId": id,
                        "subscriptionId": parts.get(2).copied().unwrap_or(""),
                        "resourceGroupName": parts.get(4).copied().unwrap_or(""),
                        "vmId": m["properties"]["vmId"],
                        "tenantId": world.tenant_id,
                        "tags": tags.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(";"),
                        "tagsList": tags.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                    }}),
                )
            }
            None => empty(StatusCode::NOT_FOUND),
        },
        _ => empty(StatusCode::NOT_FOUND),
    }
}

pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let resp = answer(&shared, &req);
                async move { Ok::<_, std::convert::Infallible>(resp) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
