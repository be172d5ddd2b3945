//! The test-control endpoint (`/_admin`): faults, settings, the request log and the resources
//! the fake holds. The same operations exist on [`crate::FakeCloud`] for in-process tests.

use crate::server::{arm_error, empty, json_response, Req, Resp, Shared};
use crate::world::{Fault, ServicePrincipal, Settings, Subscription};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

fn bad(message: String) -> Resp {
    arm_error(StatusCode::BAD_REQUEST, "InvalidAdminRequest", &message)
}

pub fn handle(shared: &Shared, req: &Req) -> Resp {
    let mut world = shared.world();
    match (&req.method, req.seg(1)) {
        (&Method::GET, "requests") => {
            json_response(StatusCode::OK, &json!({"value": world.requests}))
        }
        (&Method::DELETE, "requests") => {
            world.requests.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::POST, "faults") => {
            let faults: Vec<Fault> = match serde_json::from_slice::<Value>(&req.body) {
                Ok(v @ Value::Array(_)) => match serde_json::from_value(v) {
                    Ok(f) => f,
                    Err(e) => return bad(format!("invalid faults: {e}")),
                },
                Ok(v) => match serde_json::from_value(v) {
                    Ok(f) => vec![f],
                    Err(e) => return bad(format!("invalid fault: {e}")),
                },
                Err(e) => return bad(format!("invalid JSON: {e}")),
            };
            world.faults.extend(faults);
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::DELETE, "faults") => {
            world.faults.clear();
            empty(StatusCode::NO_CONTENT)
        }
        (&Method::GET, "settings") => json_response(StatusCode::OK, &json!(world.settings)),
        (&Method::PATCH, "settings") => {
            let mut current = json!(world.settings);
            let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&req.body) else {
                return bad("settings must be a JSON object".into());
            };
            for (k, v) in patch {
                current[k] = v;
            }
            match serde_json::from_value::<Settings>(current) {
                Ok(settings) => {
                    world.settings = settings;
                    json_response(StatusCode::OK, &json!(world.settings))
                }
                Err(e) => bad(format!("invalid settings: {e}")),
            }
        }
        (&Method::GET, "machines") => {
            let value: Vec<&Value> = world.machines.values().collect();
            json_response(StatusCode::OK, &json!({"value": value}))
        }
        (&Method::POST, "principals") => {
            match serde_json::from_slice::<ServicePrincipal>(&req.body) {
                Ok(p) => {
                    world.principals.push(p);
                    empty(StatusCode::NO_CONTENT)
                }
                Err(e) => bad(format!("invalid principal: {e}")),
            }
        }
        (&Method::POST, "subscriptions") => match serde_json::from_slice::<Subscription>(&req.body)
        {
            Ok(s) => {
                world.subscriptions.push(s);
                empty(StatusCode::NO_CONTENT)
            }
            Err(e) => bad(format!("invalid subscription: {e}")),
        },
        _ => arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No admin route {} {}", req.method, req.path),
        ),
    }
}
