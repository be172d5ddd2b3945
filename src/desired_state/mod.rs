//! Desired state: azcm's DSC v3 command resources, as Microsoft's `dsc` engine runs them.
//! Each resource is a thin adapter over the services the commands use (the settings
//! catalogue and the local configuration transaction): a document is read into the same
//! typed changes `azcm config set` makes, and written by the same transaction.
//!
//! The protocol (DSC v3 command resources): the instance JSON arrives on stdin; get, set and
//! export print instances as JSON lines on stdout, test and set add a line with the names of
//! the differing properties (`return: stateAndDiff`); messages go to stderr as dsc's trace
//! lines; the exit code is the AZCM number, which the manifest's `exitCodes` names.

pub mod connection;
pub mod settings;

use crate::error::{AzcmError, ErrorCode, Result};
use serde_json::{json, Map, Value};

/// The most an instance document on stdin may hold: a settings document is a few KiB.
pub const MAX_INSTANCE: u64 = 1024 * 1024;

/// The schema every manifest names.
pub const MANIFEST_SCHEMA: &str = "https://aka.ms/dsc/schemas/v3/bundled/resource/manifest.json";

/// An instance document as dsc sends it: a JSON object, or nothing (get and export may be
/// called without input).
pub fn parse_instance(text: &str) -> Result<Map<String, Value>> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(AzcmError::invalid_argument(format!(
            "the resource instance must be a JSON object, not {}",
            kind_of(&other)
        ))),
        Err(e) => Err(AzcmError::invalid_argument(format!(
            "the resource instance is not valid JSON: {e}"
        ))
        .with_remediation("Pass the instance as one JSON object on stdin, as dsc does.")),
    }
}

/// Reads the instance from stdin, at most [`MAX_INSTANCE`] bytes.
pub fn read_instance() -> Result<Map<String, Value>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_INSTANCE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            AzcmError::invalid_argument(format!("cannot read the instance from stdin: {e}"))
        })?;
    if bytes.len() as u64 > MAX_INSTANCE {
        return Err(AzcmError::invalid_argument(format!(
            "the instance on stdin is larger than {} KiB",
            MAX_INSTANCE / 1024
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| AzcmError::invalid_argument("the instance on stdin is not UTF-8 text"))?;
    parse_instance(&text)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What one operation returns: the instances (one line each) and, for test and set, the
/// properties that differ (or differed).
#[derive(Debug, Default)]
pub struct Reply {
    pub instances: Vec<Value>,
    pub differing: Option<Vec<String>>,
    /// Set only: whether anything was (what-if: would be) written.
    pub changed: Option<bool>,
}

impl Reply {
    /// The lines dsc reads on stdout.
    pub fn lines(&self) -> String {
        let mut out = String::new();
        for instance in &self.instances {
            out.push_str(&instance.to_string());
            out.push('\n');
        }
        if let Some(diff) = &self.differing {
            out.push_str(&json!(diff).to_string());
            out.push('\n');
        }
        out
    }
}

/// The manifest's `exitCodes`: every AZCM code by number, so dsc's error line names it.
pub fn exit_codes() -> Value {
    let mut map = Map::new();
    map.insert("0".into(), json!("Success"));
    for code in ErrorCode::ALL {
        map.insert(
            code.exit_code().to_string(),
            json!(format!("{} {}: {}", code.code(), code.name(), code.cause())),
        );
    }
    Value::Object(map)
}

/// A command-resource manifest whose operations run `azcm dsc <resource> <operation>`.
/// `handles_exist`: set converges `_exist: false` itself (dsc has no delete to call).
pub fn manifest(
    resource_type: &str,
    resource_arg: &str,
    description: &str,
    schema: Value,
    handles_exist: bool,
) -> Value {
    let op = |name: &str| json!(["dsc", resource_arg, name]);
    json!({
        "$schema": MANIFEST_SCHEMA,
        "type": resource_type,
        "version": env!("CARGO_PKG_VERSION"),
        "description": description,
        "tags": ["AzureArc", "azcmagent", "azcm"],
        "get": {"executable": "azcm", "args": op("get"), "input": "stdin"},
        "test": {"executable": "azcm", "args": op("test"), "input": "stdin", "return": "stateAndDiff"},
        "set": {
            "executable": "azcm",
            "args": ["dsc", resource_arg, "set", {"whatIfArg": "--what-if"}],
            "input": "stdin",
            "implementsPretest": false,
            "handlesExist": handles_exist,
            "return": "stateAndDiff"
        },
        "export": {"executable": "azcm", "args": op("export"), "input": "stdin"},
        "exitCodes": exit_codes(),
        "schema": {"embedded": schema}
    })
}

/// Every manifest azcm ships, by file name (they sit beside the azcm binary).
pub fn manifests() -> Vec<(&'static str, Value)> {
    vec![
        (connection::MANIFEST_FILE, connection::manifest()),
        (settings::MANIFEST_FILE, settings::manifest()),
    ]
}
