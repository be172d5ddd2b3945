//! Azure VM detection through the Instance Metadata Service. The probe is short and bounded,
//! never goes through a proxy, and its address comes from `AZCM_IMDS_ENDPOINT` when set.

use std::time::Duration;

pub const ENDPOINT_ENV: &str = "AZCM_IMDS_ENDPOINT";
const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

pub fn endpoint() -> String {
    std::env::var(ENDPOINT_ENV)
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
}

/// What IMDS said: `Some(azEnvironment)` on an Azure VM, `None` otherwise (no answer, an
/// error, or an answer that is not IMDS's).
pub async fn azure_environment() -> Option<String> {
    let client = crate::http::local_client(PROBE_TIMEOUT)?;
    let url = format!(
        "{}/metadata/instance/compute?api-version=2021-02-01",
        endpoint().trim_end_matches('/')
    );
    let response = client
        .get(url)
        .header("Metadata", "true")
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let compute = crate::http::read_json(response, crate::http::MAX_METADATA_BODY)
        .await
        .ok()?;
    compute["azEnvironment"]
        .as_str()
        .filter(|e| !e.is_empty())
        .map(str::to_string)
}

/// Why this machine looks like an Azure VM (empty: it does not): the Azure VM guest agent's
/// service, and an answer from IMDS. Shared by connect's guard, `check` and `show`.
pub async fn azure_vm_evidence() -> Vec<String> {
    let mut evidence = Vec::new();
    if let Ok(Some(agent)) = crate::platform::azure_guest_agent() {
        evidence.push(format!(
            "the Azure VM guest agent service {} is installed",
            agent.name
        ));
    }
    if let Some(environment) = azure_environment().await {
        evidence.push(format!(
            "the Azure Instance Metadata Service at {} answers ({environment})",
            endpoint()
        ));
    }
    evidence
}
