//! Azure Resource Manager: token checks, subscriptions, resource providers, resource groups,
//! and `Microsoft.HybridCompute/machines` as the published REST spec
//! (shared/azure-specs/2026-09-01) describes them, with delete as a long-running operation.

use crate::entra::now_secs;
use crate::server::{arm_error, empty, json_response, throttled, Rejection, Req, Resp, Shared};
use crate::world::{new_guid, Operation, Step};
use hyper::header::{HeaderValue, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// HybridCompute api-versions the fake serves: the stable ones in shared/azure-specs.
pub const HYBRIDCOMPUTE_API_VERSIONS: &[&str] = &["2026-09-01", "2026-07-15"];

/// MachineProperties a client may write (the spec marks all others readOnly; ARM drops them).
pub const WRITABLE_MACHINE_PROPERTIES: &[&str] = &[
    "locationData",
    "serviceStatuses",
    "cloudMetadata",
    "agentUpgrade",
    "osProfile",
    "licenseProfile",
    "vmId",
    "clientPublicKey",
    "identityKeyStore",
    "tpmEkCertificate",
    "osType",
    "extensions",
    "privateLinkScopeResourceId",
    "parentClusterResourceId",
    "hardwareResourceId",
    "mssqlDiscovered",
];

/// Audiences ARM accepts in a token.
fn audience_ok(aud: &str) -> bool {
    let aud = aud.trim_end_matches('/');
    crate::ARM_AUDIENCES
        .iter()
        .any(|known| known.trim_end_matches('/') == aud)
}

fn unauthorized(shared: &Shared, code: &str, message: &str) -> Resp {
    let mut resp = arm_error(StatusCode::UNAUTHORIZED, code, message);
    let tenant = shared.world().tenant_id.clone();
    let value = format!(
        "Bearer authorization_uri=\"{}/{tenant}\", error=\"invalid_token\", error_description=\"{}\"",
        shared.base_url,
        message.replace('"', "'")
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    resp
}

fn authenticate(shared: &Shared, req: &Req) -> Result<Value, Rejection> {
    let reject = |code: &str, message: &str| Box::new(unauthorized(shared, code, message));
    let Some(token) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return Err(reject(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let claims = shared.signer.verify(token.trim()).map_err(|why| {
        reject(
            "InvalidAuthenticationToken",
            &format!("The access token is invalid: {why}."),
        )
    })?;
    if claims["exp"].as_i64().unwrap_or(0) <= now_secs() {
        return Err(reject(
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        ));
    }
    let aud = claims["aud"].as_str().unwrap_or("");
    if !audience_ok(aud) {
        return Err(reject(
            "InvalidAuthenticationTokenAudience",
            &format!("The access token has been obtained for wrong audience or resource '{aud}'."),
        ));
    }
    let tenant = shared.world().tenant_id.clone();
    if !claims["tid"]
        .as_str()
        .unwrap_or("")
        .eq_ignore_ascii_case(&tenant)
    {
        return Err(reject(
            "InvalidAuthenticationTokenTenant",
            "The access token is from the wrong issuer. It must match the tenant associated with this subscription.",
        ));
    }
    Ok(claims)
}

fn check_api_version(req: &Req, hybrid_compute: bool) -> Result<String, Rejection> {
    let reject =
        |code: &str, message: &str| Box::new(arm_error(StatusCode::BAD_REQUEST, code, message));
    let Some(version) = req.query("api-version") else {
        return Err(reject(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let well_formed = version.len() >= 10
        && version[..10].chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    let supported = if hybrid_compute {
        HYBRIDCOMPUTE_API_VERSIONS.contains(&version)
    } else {
        well_formed
    };
    if !supported {
        let versions = if hybrid_compute {
            HYBRIDCOMPUTE_API_VERSIONS.join(",")
        } else {
            "2022-12-01".to_string()
        };
        return Err(reject(
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{version}' is invalid. The supported versions are '{versions}'."
            ),
        ));
    }
    Ok(version.to_string())
}

fn normalize_location(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A PUT body's location, normalised; ARM's error when it has none.
fn required_location(input: &Value) -> Result<String, Rejection> {
    input["location"]
        .as_str()
        .map(normalize_location)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            Box::new(arm_error(
                StatusCode::BAD_REQUEST,
                "LocationRequired",
                "The location property is required for this definition.",
            ))
        })
}

fn valid_machine_name(name: &str) -> bool {
    (1..=54).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub fn handle(shared: &Shared, step: Step, req: &Req) -> Resp {
    if let Err(resp) = authenticate(shared, req) {
        return *resp;
    }
    let hybrid_compute = matches!(
        step,
        Step::MachineGet
            | Step::MachinePut
            | Step::MachinePatch
            | Step::MachineDelete
            | Step::MachineList
            | Step::LroPoll
    );
    if let Err(resp) = check_api_version(req, hybrid_compute) {
        return *resp;
    }
    let subscription_id = req.seg(1).to_string();
    if !subscription_id.is_empty() {
        let known = shared.world().subscription(&subscription_id).is_some();
        if !known {
            return arm_error(
                StatusCode::NOT_FOUND,
                "SubscriptionNotFound",
                &format!("The subscription '{subscription_id}' could not be found."),
            );
        }
        let is_write = !matches!(req.method, Method::GET | Method::HEAD);
        if is_write {
            let wait = shared.world().throttle_write(&subscription_id);
            if let Some(wait) = wait {
                return throttled(wait, false);
            }
        }
    }
    match step {
        Step::Subscription => subscriptions(shared, req),
        Step::Provider => provider(shared, req, false),
        Step::Register => provider(shared, req, true),
        Step::ResourceGroup => resource_group(shared, req),
        Step::ResourceGroupList => resource_group_list(shared, req),
        Step::Resources => resources(shared, req),
        Step::MachineGet | Step::MachinePut | Step::MachinePatch | Step::MachineDelete => {
            machine(shared, req)
        }
        Step::MachineList => machine_list(shared, req),
        Step::LroPoll => operation(shared, req),
        Step::Gateway => gateway(shared, req),
        Step::MachineSettings | Step::Automanage => machine_child(shared, step, req),
        _ => arm_error(StatusCode::NOT_FOUND, "NotFound", "No such resource."),
    }
}

fn subscription_json(s: &crate::world::Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.subscription_id),
        "subscriptionId": s.subscription_id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
    })
}

fn subscriptions(shared: &Shared, req: &Req) -> Resp {
    let world = shared.world();
    if req.segments.len() == 1 {
        let value: Vec<Value> = world.subscriptions.iter().map(subscription_json).collect();
        return json_response(StatusCode::OK, &json!({"value": value}));
    }
    let s = world.subscription(req.seg(1)).expect("checked in handle");
    json_response(StatusCode::OK, &subscription_json(s))
}

fn provider(shared: &Shared, req: &Req, register: bool) -> Resp {
    if register && req.method != Method::POST || !register && req.method != Method::GET {
        return method_not_allowed();
    }
    let namespace = req.seg(3).to_string();
    let mut world = shared.world();
    let polls = world.settings.registration_polls;
    let key = (
        req.seg(1).to_ascii_lowercase(),
        namespace.to_ascii_lowercase(),
    );
    let sub = world
        .subscription_mut(req.seg(1))
        .expect("checked in handle");
    let state = sub
        .providers
        .get(&key.1)
        .cloned()
        .unwrap_or_else(|| "NotRegistered".to_string());
    let state = if register {
        if state == "Registered" {
            state
        } else {
            sub.providers
                .insert(key.1.clone(), "Registering".to_string());
            world.registering.insert(key.clone(), polls);
            "Registering".to_string()
        }
    } else if state == "Registering" {
        let left = world.registering.entry(key.clone()).or_insert(0);
        if *left == 0 {
            world.registering.remove(&key);
            world
                .subscription_mut(req.seg(1))
                .expect("known")
                .providers
                .insert(key.1.clone(), "Registered".to_string());
            "Registered".to_string()
        } else {
            *left -= 1;
            state
        }
    } else {
        state
    };
    json_response(
        StatusCode::OK,
        &json!({
            "id": format!("/subscriptions/{}/providers/{namespace}", req.seg(1)),
            "namespace": namespace,
            "registrationState": state,
            "resourceTypes": resource_types(&namespace),
        }),
    )
}

/// The resource types a provider document lists, with their api-versions: what SDKs read to
/// pick an api-version for a generic GET by resource id (Get-AzResource -ResourceId).
fn resource_types(namespace: &str) -> Value {
    let versions = |v: &[&str]| json!(v);
    match namespace.to_ascii_lowercase().as_str() {
        "microsoft.hybridcompute" => json!([
            {"resourceType": "machines", "locations": crate::REGIONS, "apiVersions": versions(HYBRIDCOMPUTE_API_VERSIONS), "capabilities": "SupportsTags, SupportsLocation"},
            {"resourceType": "machines/extensions", "locations": crate::REGIONS, "apiVersions": versions(HYBRIDCOMPUTE_API_VERSIONS)},
            {"resourceType": "locations", "locations": [], "apiVersions": versions(HYBRIDCOMPUTE_API_VERSIONS)},
            {"resourceType": "locations/operationStatus", "locations": crate::REGIONS, "apiVersions": versions(HYBRIDCOMPUTE_API_VERSIONS)},
            {"resourceType": "locations/operationResults", "locations": crate::REGIONS, "apiVersions": versions(HYBRIDCOMPUTE_API_VERSIONS)},
        ]),
        _ => json!([]),
    }
}

/// `GET /subscriptions/{id}/resourcegroups`: every resource group of the subscription.
fn resource_group_list(shared: &Shared, req: &Req) -> Resp {
    if req.method != Method::GET {
        return method_not_allowed();
    }
    let sub = req.seg(1).to_ascii_lowercase();
    let world = shared.world();
    let mut groups: Vec<&(String, String)> = world
        .resource_groups
        .iter()
        .filter(|((s, _), _)| *s == sub)
        .map(|(_, v)| v)
        .collect();
    groups.sort();
    let value: Vec<Value> = groups
        .into_iter()
        .map(|(name, location)| {
            json!({
                "id": format!("/subscriptions/{}/resourceGroups/{name}", req.seg(1)),
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "properties": {"provisioningState": "Succeeded"},
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "value": value }))
}

/// ARM's generic resources API, `GET …/resourceGroups/{rg}/resources`: each resource's id,
/// name, type, location and tags (here, the group's machines).
fn resources(shared: &Shared, req: &Req) -> Resp {
    if req.method != Method::GET {
        return method_not_allowed();
    }
    let world = shared.world();
    let machines = match machines_of(&world, req.seg(1), Some(req.seg(3))) {
        Ok(m) => m,
        Err(resp) => return *resp,
    };
    let value: Vec<Value> = machines
        .into_iter()
        .map(|m| {
            let mut entry = json!({
                "id": m["id"],
                "name": m["name"],
                "type": m["type"],
                "location": m["location"],
            });
            if let Some(tags) = m.get("tags") {
                entry["tags"] = tags.clone();
            }
            entry
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "value": value }))
}

fn resource_group(shared: &Shared, req: &Req) -> Resp {
    let sub = req.seg(1).to_ascii_lowercase();
    let name = req.seg(3).to_string();
    let key = (sub.clone(), name.to_ascii_lowercase());
    let body = |name: &str, location: &str| {
        json!({
            "id": format!("/subscriptions/{}/resourceGroups/{name}", req.seg(1)),
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "properties": {"provisioningState": "Succeeded"},
        })
    };
    let mut world = shared.world();
    match req.method {
        Method::GET | Method::HEAD => match world.resource_groups.get(&key) {
            Some((name, location)) => json_response(StatusCode::OK, &body(name, location)),
            None => resource_group_not_found(&name),
        },
        Method::PUT => {
            let input = match req.json() {
                Ok(v) => v,
                Err(resp) => return *resp,
            };
            let location = match required_location(&input) {
                Ok(l) => l,
                Err(resp) => return *resp,
            };
            let created = !world.resource_groups.contains_key(&key);
            let entry = world.resource_groups.entry(key).or_insert((name, location));
            let resp = body(&entry.0.clone(), &entry.1.clone());
            json_response(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &resp,
            )
        }
        _ => method_not_allowed(),
    }
}

fn resource_group_not_found(name: &str) -> Resp {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceGroupNotFound",
        &format!("Resource group '{name}' could not be found."),
    )
}

fn method_not_allowed() -> Resp {
    arm_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "The method is not allowed.",
    )
}

fn machine_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.HybridCompute/machines/{name}")
}

fn not_found(rg: &str, name: &str) -> Resp {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!("The Resource 'Microsoft.HybridCompute/machines/{name}' under resource group '{rg}' was not found."),
    )
}

fn writable(properties: &Value) -> Map<String, Value> {
    properties
        .as_object()
        .map(|p| {
            p.iter()
                .filter(|(k, _)| WRITABLE_MACHINE_PROPERTIES.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn machine(shared: &Shared, req: &Req) -> Resp {
    let (sub, rg, name) = (
        req.seg(1).to_string(),
        req.seg(3).to_string(),
        req.seg(7).to_string(),
    );
    let key = (
        sub.to_ascii_lowercase(),
        rg.to_ascii_lowercase(),
        name.to_ascii_lowercase(),
    );
    if !valid_machine_name(&name) {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidResourceName",
            &format!("Resource name {name} is invalid. The name can be up to 54 characters long and can contain letters, digits, '-', '_' and '.'."),
        );
    }
    let mut world = shared.world();
    if !world
        .resource_groups
        .contains_key(&(key.0.clone(), key.1.clone()))
    {
        return resource_group_not_found(&rg);
    }
    match req.method {
        Method::GET => match world.machines.get(&key) {
            Some(machine) => json_response(StatusCode::OK, machine),
            None => not_found(&rg, &name),
        },
        Method::PUT | Method::PATCH => {
            let registered = world
                .subscription(&sub)
                .and_then(|s| s.providers.get("microsoft.hybridcompute"))
                .is_some_and(|s| s == "Registered");
            if !registered {
                return arm_error(
                    StatusCode::CONFLICT,
                    "MissingSubscriptionRegistration",
                    "The subscription is not registered to use namespace 'Microsoft.HybridCompute'. See https://aka.ms/rps-not-found for how to register subscriptions.",
                );
            }
            let input = match req.json() {
                Ok(v) => v,
                Err(resp) => return *resp,
            };
            let existing = world.machines.get(&key).cloned();
            if req.method == Method::PATCH && existing.is_none() {
                return not_found(&rg, &name);
            }
            let mut machine = existing.clone().unwrap_or_else(|| {
                json!({
                    "id": machine_id(&sub, &rg, &name),
                    "name": name,
                    "type": "Microsoft.HybridCompute/machines",
                    "tags": {},
                    "properties": {},
                })
            });
            if req.method == Method::PUT {
                let location = match required_location(&input) {
                    Ok(l) => l,
                    Err(resp) => return *resp,
                };
                if let Some(old) = existing.as_ref().and_then(|m| m["location"].as_str()) {
                    if old != location {
                        return arm_error(
                            StatusCode::BAD_REQUEST,
                            "InvalidResourceLocation",
                            &format!("The resource '{name}' already exists in location '{old}' in resource group '{rg}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name."),
                        );
                    }
                }
                machine["location"] = json!(location);
                machine["tags"] = input
                    .get("tags")
                    .cloned()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({}));
                let mut properties = writable(&input["properties"]);
                if !properties.contains_key("vmId") {
                    let vm_id = existing
                        .as_ref()
                        .and_then(|m| m["properties"]["vmId"].as_str().map(str::to_string))
                        .unwrap_or_else(new_guid);
                    properties.insert("vmId".into(), json!(vm_id));
                }
                machine["properties"] = Value::Object(properties);
            } else {
                if let Some(tags) = input.get("tags").filter(|t| t.is_object()) {
                    machine["tags"] = tags.clone();
                }
                for (k, v) in writable(&input["properties"]) {
                    machine["properties"][k] = v;
                }
            }
            let identity_type = input["identity"]["type"].as_str().or_else(|| {
                existing
                    .as_ref()
                    .and_then(|m| m["identity"]["type"].as_str())
            });
            if identity_type.is_some_and(|t| t.eq_ignore_ascii_case("SystemAssigned")) {
                let principal = existing
                    .as_ref()
                    .and_then(|m| m["identity"]["principalId"].as_str().map(str::to_string))
                    .unwrap_or_else(new_guid);
                machine["identity"] = json!({"type": "SystemAssigned", "principalId": principal, "tenantId": world.tenant_id});
            }
            let props = machine["properties"]
                .as_object_mut()
                .expect("properties object");
            props.insert("provisioningState".into(), json!("Succeeded"));
            props.insert("status".into(), json!("Connected"));
            props.insert("displayName".into(), json!(name));
            props.insert(
                "lastStatusChange".into(),
                json!(crate::server::iso_time(std::time::SystemTime::now())),
            );
            world.last_machine = Some(key.clone());
            world.machines.insert(key, machine.clone());
            json_response(StatusCode::OK, &machine)
        }
        Method::DELETE => {
            let Some(machine) = world.machines.get(&key) else {
                return empty(StatusCode::NO_CONTENT);
            };
            let location = machine["location"].as_str().unwrap_or("").to_string();
            let op = new_guid();
            let polls = world.settings.lro_polls;
            let retry_after = world.settings.lro_retry_after_secs;
            world.operations.insert(
                op.clone(),
                Operation {
                    polls_left: polls,
                    started: crate::server::iso_time(std::time::SystemTime::now()),
                    machine_key: key,
                },
            );
            let version = req
                .query("api-version")
                .unwrap_or(HYBRIDCOMPUTE_API_VERSIONS[0]);
            let base = format!(
                "{}/subscriptions/{sub}/providers/Microsoft.HybridCompute/locations/{location}",
                shared.base_url
            );
            let mut resp = empty(StatusCode::ACCEPTED);
            let headers = resp.headers_mut();
            headers.insert(
                LOCATION,
                HeaderValue::from_str(&format!(
                    "{base}/operationResults/{op}?api-version={version}"
                ))
                .expect("ascii"),
            );
            headers.insert(
                "azure-asyncoperation",
                HeaderValue::from_str(&format!(
                    "{base}/operationStatus/{op}?api-version={version}"
                ))
                .expect("ascii"),
            );
            headers.insert(RETRY_AFTER, HeaderValue::from(retry_after));
            resp
        }
        _ => method_not_allowed(),
    }
}

/// `GET …/machines` of a resource group (when the path names one) or of the subscription:
/// ARM's list shape, one page, in name order.
fn machine_list(shared: &Shared, req: &Req) -> Resp {
    if req.method != Method::GET {
        return method_not_allowed();
    }
    let group = req
        .seg(2)
        .eq_ignore_ascii_case("resourceGroups")
        .then(|| req.seg(3));
    let world = shared.world();
    let machines = match machines_of(&world, req.seg(1), group) {
        Ok(m) => m,
        Err(resp) => return *resp,
    };
    let value: Vec<Value> = machines.into_iter().cloned().collect();
    json_response(StatusCode::OK, &json!({ "value": value }))
}

/// The machines of a subscription, or of one of its resource groups (ARM's 404 when the
/// group does not exist), in a stable order.
fn machines_of<'w>(
    world: &'w crate::world::World,
    subscription: &str,
    group: Option<&str>,
) -> Result<Vec<&'w Value>, Rejection> {
    let sub = subscription.to_ascii_lowercase();
    if let Some(rg) = group {
        if !world
            .resource_groups
            .contains_key(&(sub.clone(), rg.to_ascii_lowercase()))
        {
            return Err(Box::new(resource_group_not_found(rg)));
        }
    }
    let mut machines: Vec<(&(String, String, String), &Value)> = world
        .machines
        .iter()
        .filter(|((s, rg, _), _)| *s == sub && group.is_none_or(|g| g.eq_ignore_ascii_case(rg)))
        .collect();
    machines.sort_by(|a, b| a.0.cmp(b.0));
    Ok(machines.into_iter().map(|(_, m)| m).collect())
}

/// Polls of a delete: `operationStatus` (Azure-AsyncOperation) answers a status document,
/// `operationResults` (Location) answers 202 until done, then 204.
fn operation(shared: &Shared, req: &Req) -> Resp {
    let kind = req.seg(6).to_ascii_lowercase();
    let id = req.seg(7).to_string();
    let mut world = shared.world();
    let Some(op) = world.operations.get_mut(&id) else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            &format!("The operation '{id}' was not found."),
        );
    };
    let done = if op.polls_left == 0 {
        true
    } else {
        op.polls_left -= 1;
        false
    };
    let started = op.started.clone();
    let key = op.machine_key.clone();
    if done {
        world.machines.remove(&key);
    }
    let retry_after = world.settings.lro_retry_after_secs;
    if kind == "operationresults" {
        let mut resp = empty(if done {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::ACCEPTED
        });
        if !done {
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        return resp;
    }
    let mut resp = json_response(
        StatusCode::OK,
        &json!({
            "id": req.path,
            "name": id,
            "status": if done { "Succeeded" } else { "InProgress" },
            "startTime": started,
        }),
    );
    if !done {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after));
    }
    resp
}

fn lower3(a: &str, b: &str, c: &str) -> (String, String, String) {
    (
        a.to_ascii_lowercase(),
        b.to_ascii_lowercase(),
        c.to_ascii_lowercase(),
    )
}

/// `Microsoft.HybridCompute/gateways/{name}`: read-only here (the fake starts with one).
fn gateway(shared: &Shared, req: &Req) -> Resp {
    if req.method != Method::GET {
        return arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The fake serves gateways read-only.",
        );
    }
    let key = lower3(req.seg(1), req.seg(3), req.seg(7));
    match shared.world().gateways.get(&key) {
        Some(g) => json_response(StatusCode::OK, g),
        None => arm_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The Resource 'Microsoft.HybridCompute/gateways/{}' under resource group '{}' was not found.", req.seg(7), req.seg(3)),
        ),
    }
}

/// A machine's `settings/default` (gateway association) or its Automanage configuration
/// profile assignment: PUT stores the properties, GET reads them; the machine must exist.
fn machine_child(shared: &Shared, step: Step, req: &Req) -> Resp {
    let key = lower3(req.seg(1), req.seg(3), req.seg(7));
    let mut world = shared.world();
    if !world.machines.contains_key(&key) {
        return not_found(req.seg(3), req.seg(7));
    }
    let kind = if step == Step::MachineSettings {
        "Microsoft.HybridCompute/settings"
    } else {
        "Microsoft.Automanage/configurationProfileAssignments"
    };
    match req.method {
        Method::PUT => {
            let input = match req.json() {
                Ok(v) => v,
                Err(resp) => return *resp,
            };
            if step == Step::MachineSettings {
                let gateway_id = input["properties"]["gatewayProperties"]["gatewayResourceId"]
                    .as_str()
                    .unwrap_or("");
                let parts: Vec<&str> = gateway_id.trim_start_matches('/').split('/').collect();
                let exists = parts.len() == 8
                    && world
                        .gateways
                        .contains_key(&lower3(parts[1], parts[3], parts[7]));
                if !exists {
                    return arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidGateway",
                        &format!("The gateway '{gateway_id}' was not found."),
                    );
                }
            } else if input["properties"]["configurationProfile"]
                .as_str()
                .unwrap_or("")
                .is_empty()
            {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidConfigurationProfile",
                    "properties.configurationProfile is required.",
                );
            }
            let resource = json!({"id": req.path, "name": "default", "type": kind, "properties": input["properties"]});
            let store = if step == Step::MachineSettings {
                &mut world.machine_settings
            } else {
                &mut world.automanage
            };
            store.insert(key, resource.clone());
            json_response(StatusCode::OK, &resource)
        }
        Method::GET => {
            let store = if step == Step::MachineSettings {
                &world.machine_settings
            } else {
                &world.automanage
            };
            match store.get(&key) {
                Some(r) => json_response(StatusCode::OK, r),
                None => arm_error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    "The resource was not found.",
                ),
            }
        }
        _ => method_not_allowed(),
    }
}
