//! The agent's local Hybrid Instance Metadata Service (himds): what `show` reads about the
//! agent's status and the machine resource. Loopback plain HTTP, `Metadata: true`, a short
//! bounded timeout; the address comes from `AZCM_HIMDS_ENDPOINT` when set.

use serde_json::Value;
use std::time::Duration;

pub const ENDPOINT_ENV: &str = "AZCM_HIMDS_ENDPOINT";
const DEFAULT_ENDPOINT: &str = "http://localhost:40342";
const TIMEOUT: Duration = Duration::from_secs(2);
const API_VERSION: &str = "2019-08-15";

pub fn endpoint() -> String {
    std::env::var(ENDPOINT_ENV)
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// What HIMDS answered; `error` says why a part is missing.
#[derive(Debug, Default)]
pub struct HimdsView {
    pub agent_status: Option<Value>,
    pub instance: Option<Value>,
    pub error: Option<String>,
}

async fn get(client: &reqwest::Client, url: String) -> Result<Value, String> {
    let response = client
        .get(&url)
        .header("Metadata", "true")
        .send()
        .await
        .map_err(|e| crate::http::error_chain(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    crate::http::read_json(response, crate::http::MAX_METADATA_BODY)
        .await
        .map_err(|e| format!("{url}: {e}"))
}

pub async fn read() -> HimdsView {
    let base = endpoint();
    let Some(client) = crate::http::local_client(TIMEOUT) else {
        return HimdsView {
            error: Some("cannot set up an HTTP client".into()),
            ..Default::default()
        };
    };
    let (status, instance) = tokio::join!(
        get(&client, format!("{base}/agentstatus")),
        get(
            &client,
            format!("{base}/metadata/instance?api-version={API_VERSION}")
        )
    );
    let mut view = HimdsView::default();
    match status {
        Ok(v) => view.agent_status = Some(v),
        Err(e) => view.error = Some(e),
    }
    match instance {
        Ok(v) => view.instance = Some(v),
        Err(e) => {
            view.error.get_or_insert(e);
        }
    }
    view
}

/// The machine resource's tags in an instance metadata answer: `compute.tagsList`
/// ([{name, value}]), else `compute.tags` ("name:value;…", as IMDS writes it).
pub fn tags(instance: &Value) -> Option<std::collections::BTreeMap<String, String>> {
    let compute = &instance["compute"];
    if let Some(list) = compute["tagsList"].as_array() {
        return Some(
            list.iter()
                .filter_map(|t| {
                    Some((
                        t["name"].as_str()?.to_string(),
                        t["value"].as_str()?.to_string(),
                    ))
                })
                .collect(),
        );
    }
    let text = compute["tags"].as_str()?;
    Some(
        text.split(';')
            .filter(|t| !t.is_empty())
            .map(|t| match t.split_once(':') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (t.to_string(), String::new()),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn tags_come_from_tags_list_else_the_imds_string() {
        let list = json!({"compute": {"tags": "ignored:x", "tagsList": [{"name": "env", "value": "a:b;c"}]}});
        assert_eq!(super::tags(&list).unwrap()["env"], "a:b;c");
        let text = json!({"compute": {"tags": "env:prod;owner:it:ops"}});
        let tags = super::tags(&text).unwrap();
        assert_eq!(
            (tags["env"].as_str(), tags["owner"].as_str()),
            ("prod", "it:ops")
        );
        assert!(super::tags(&json!({"compute": {}})).is_none());
        assert!(super::tags(&json!({"compute": {"tags": ""}}))
            .unwrap()
            .is_empty());
    }
}
