//! A stand-in for the Azure Instance Metadata Service, on loopback plain HTTP. It says
//! "not an Azure VM" unless the scenario says the machine is one.

use crate::server::{json_response, Req, Resp, Shared};
use hyper::StatusCode;
use serde_json::json;

pub fn handle(shared: &Shared, req: &Req) -> Resp {
    if !req
        .header("metadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "Bad request. Required metadata header not specified"}),
        );
    }
    let world = shared.world();
    if !world.settings.azure_vm {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "Not found: this machine is not an Azure VM"}),
        );
    }
    let compute = json!({
        "azEnvironment": "AzurePublicCloud",
        "location": "westeurope",
        "name": "fake-azure-vm",
        "vmId": "5c08b38e-4d57-4c23-ac45-aca61037f084",
        "subscriptionId": world.subscriptions.first().map(|s| s.subscription_id.clone()).unwrap_or_default(),
    });
    let body = if req.path.trim_end_matches('/').ends_with("/compute") {
        compute
    } else {
        json!({"compute": compute, "network": {"interface": []}})
    };
    json_response(StatusCode::OK, &body)
}
