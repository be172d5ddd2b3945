//! `Azcm/Settings`: the agent's local configuration properties a document names take the
//! given values; properties it does not name are left as they are. Each value becomes the
//! same change `azcm config set` / `config clear` makes, checked by the same rules
//! ([`crate::settings::apply`]), and the whole document is written at once or not at all.

use super::Reply;
use crate::cloud::BYPASS_CATEGORIES;
use crate::error::{AzcmError, Result};
use crate::settings::{self, Change, Kind, Property, Stored, PROPERTIES};
use serde_json::{json, Map, Value};

pub const RESOURCE_TYPE: &str = "Azcm/Settings";
pub const MANIFEST_FILE: &str = "azcm.settings.dsc.resource.json";
const IN_DESIRED_STATE: &str = "_inDesiredState";

/// What a document asks of one property.
#[derive(Debug, Clone, PartialEq)]
enum Wanted {
    /// null, or the default value: not set locally (the default, or what monitor mode imposes).
    Default,
    /// A value, as `azcm config set` would take it on its command line.
    Value(String),
}

impl Wanted {
    fn change(&self) -> Change<'_> {
        match self {
            Wanted::Default => Change::Clear,
            Wanted::Value(raw) => Change::Set(raw),
        }
    }
}

/// The properties a document names, in the order they are applied: config.mode first (it
/// decides what the others may be), then the catalogue's order.
fn wanted(instance: &Map<String, Value>) -> Result<Vec<(&'static Property, Wanted)>> {
    let mut out = Vec::new();
    for (key, value) in instance {
        if key == IN_DESIRED_STATE {
            continue;
        }
        let Some(prop) = PROPERTIES.iter().find(|p| p.name == key) else {
            return Err(AzcmError::invalid_argument(format!(
                "{RESOURCE_TYPE} has no property '{}'; its properties: {}",
                crate::error::excerpt(key),
                settings::names().join(", ")
            ))
            .with_detail("property", crate::error::excerpt(key))
            .with_detail("validProperties", settings::names())
            .with_remediation("Name the agent's configuration properties exactly as `azcm config list` shows them."));
        };
        out.push((prop, to_wanted(prop, value)?));
    }
    out.sort_by_key(|(p, _)| {
        (
            p.name != "config.mode",
            PROPERTIES.iter().position(|q| q.name == p.name),
        )
    });
    Ok(out)
}

fn to_wanted(prop: &Property, value: &Value) -> Result<Wanted> {
    if value.is_null() || *value == prop.default_value() {
        return Ok(Wanted::Default);
    }
    // Blank text is the empty default: dsc 3.2.3 refuses '' as a parameter's defaultValue, so
    // documents write ' ' for "none".
    if prop.default_value() == json!("") && value.as_str().is_some_and(|s| s.trim().is_empty()) {
        return Ok(Wanted::Default);
    }
    let text = match (prop.kind, value) {
        (Kind::Bool, Value::Bool(b)) => b.to_string(),
        (Kind::Percent, Value::Number(n)) => n.to_string(),
        (Kind::Enum(_) | Kind::ProxyUrl, Value::String(s)) => s.clone(),
        (kind, Value::Array(items)) if kind.is_list() => {
            let mut parts = Vec::new();
            for item in items {
                match item {
                    Value::String(s) if !s.contains(',') => parts.push(s.clone()),
                    Value::Number(n) if kind == Kind::PortList => parts.push(n.to_string()),
                    _ => {
                        return Err(wrong_type(prop, value));
                    }
                }
            }
            parts.join(",")
        }
        _ => return Err(wrong_type(prop, value)),
    };
    Ok(Wanted::Value(text))
}

fn wrong_type(prop: &Property, value: &Value) -> AzcmError {
    AzcmError::invalid_argument(format!(
        "{} takes {}, not {}",
        prop.name,
        match prop.kind {
            Kind::Bool => "true or false",
            Kind::Percent => "an integer from 1 to 100",
            Kind::Enum(_) | Kind::ProxyUrl => "a string",
            _ => "a list of strings (one entry each)",
        },
        crate::error::excerpt(&value.to_string())
    ))
    .with_detail("property", prop.name)
    .with_detail("allowed", prop.allowed())
}

/// The effective value of each named property (all of them when none is named).
fn state(stored: &Stored, props: &[&'static Property]) -> Map<String, Value> {
    let all: Vec<&'static Property>;
    let props = if props.is_empty() {
        all = PROPERTIES.iter().collect();
        &all
    } else {
        props
    };
    props
        .iter()
        .map(|p| (p.name.to_string(), settings::effective(stored, p).0))
        .collect()
}

/// The stored settings the document leads to, by the rules `azcm config set` enforces
/// (values, monitor mode's locks and conflicts); warnings for the admin beside them.
fn apply(current: &Stored, wanted: &[(&'static Property, Wanted)]) -> Result<settings::Applied> {
    let mut stored = current.clone();
    let mut warnings = Vec::new();
    for (prop, want) in wanted {
        let applied = settings::apply(&stored, prop, want.change())?;
        stored = applied.stored;
        warnings.extend(applied.warnings);
    }
    Ok(settings::Applied { stored, warnings })
}

/// Names of the properties whose effective value differs between two stored maps.
fn differing(a: &Stored, b: &Stored, props: &[&'static Property]) -> Vec<String> {
    props
        .iter()
        .filter(|p| settings::effective(a, p).0 != settings::effective(b, p).0)
        .map(|p| p.name.to_string())
        .collect()
}

/// get: the current value of each property the instance names (all when it names none).
pub fn get(current: &Stored, instance: &Map<String, Value>) -> Result<Reply> {
    let props: Vec<&'static Property> = wanted(instance)?.into_iter().map(|(p, _)| p).collect();
    Ok(Reply {
        instances: vec![Value::Object(state(current, &props))],
        ..Reply::default()
    })
}

/// test: the current values, whether they are the desired ones, and which are not. A
/// document that set could not apply (a value monitor mode locks) is simply not in the
/// desired state: test changes nothing and fails only on an invalid document.
pub fn test(current: &Stored, instance: &Map<String, Value>) -> Result<Reply> {
    let wanted = wanted(instance)?;
    let props: Vec<&'static Property> = wanted.iter().map(|(p, _)| *p).collect();
    let mut differ = Vec::new();
    for (prop, want) in &wanted {
        let desired = match want {
            Wanted::Default => {
                let mut without = current.clone();
                without.remove(prop.name);
                settings::effective(&without, prop).0
            }
            Wanted::Value(raw) => settings::parse(prop, raw)?,
        };
        if desired != settings::effective(current, prop).0 {
            differ.push(prop.name.to_string());
        }
    }
    let mut state = state(current, &props);
    state.insert(IN_DESIRED_STATE.into(), json!(differ.is_empty()));
    Ok(Reply {
        instances: vec![Value::Object(state)],
        differing: Some(differ),
        changed: None,
    })
}

/// set: the stored settings after the document (written by the caller when `changed`), the
/// resulting values and the properties that changed.
pub fn set(current: &Stored, instance: &Map<String, Value>) -> Result<(settings::Applied, Reply)> {
    let wanted = wanted(instance)?;
    let props: Vec<&'static Property> = wanted.iter().map(|(p, _)| *p).collect();
    let applied = apply(current, &wanted)?;
    let changed_props = differing(current, &applied.stored, &props);
    let reply = Reply {
        instances: vec![Value::Object(state(&applied.stored, &props))],
        differing: Some(changed_props),
        changed: Some(applied.stored != *current),
    };
    Ok((applied, reply))
}

/// export: one instance with every property that is not at its default.
pub fn export(current: &Stored) -> Reply {
    let state: Map<String, Value> = PROPERTIES
        .iter()
        .map(|p| (p, settings::effective(current, p).0))
        .filter(|(p, v)| *v != p.default_value())
        .map(|(p, v)| (p.name.to_string(), v))
        .collect();
    Reply {
        instances: vec![Value::Object(state)],
        ..Reply::default()
    }
}

fn property_schema(prop: &Property) -> Value {
    let mut schema = match prop.kind {
        Kind::Bool => json!({"type": ["boolean", "null"]}),
        Kind::Enum(words) => {
            let mut values: Vec<Value> = words.iter().map(|w| json!(w)).collect();
            values.push(Value::Null);
            json!({"type": ["string", "null"], "enum": values})
        }
        Kind::Percent => json!({"type": ["integer", "null"], "minimum": 1, "maximum": 100}),
        Kind::ProxyUrl => json!({"type": ["string", "null"]}),
        Kind::PortList => {
            json!({"type": ["array", "null"], "items": {"type": ["string", "integer"]}})
        }
        Kind::BypassList => {
            json!({"type": ["array", "null"], "items": {"type": "string", "enum": BYPASS_CATEGORIES}})
        }
        Kind::ExtensionList { .. } => {
            json!({"type": ["array", "null"], "items": {"type": "string"}})
        }
    };
    schema["title"] = json!(prop.name);
    schema["description"] = json!(format!(
        "{} Default: {}. null: not set locally (the default, or what config.mode monitor imposes).",
        prop.description,
        crate::view::display_value(&prop.default_value()).trim()
    ));
    schema["default"] = prop.default_value();
    schema
}

/// The instance schema embedded in the manifest (`dsc resource schema` prints it).
pub fn instance_schema() -> Value {
    let mut properties = Map::new();
    for prop in PROPERTIES {
        properties.insert(prop.name.to_string(), property_schema(prop));
    }
    properties.insert(
        IN_DESIRED_STATE.into(),
        json!({
            "type": ["boolean", "null"],
            "readOnly": true,
            "title": "In desired state",
            "description": "Returned by test: whether every property the instance names has its desired value."
        }),
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schemas.azcm.invalid/v1/dsc/azcm-settings.schema.json",
        "title": RESOURCE_TYPE,
        "description": "The Azure Connected Machine agent's local configuration settings (azcm config). Properties an instance names take its values; the others are left as they are.",
        "type": "object",
        "additionalProperties": false,
        "properties": properties
    })
}

pub fn manifest() -> Value {
    super::manifest(
        RESOURCE_TYPE,
        "settings",
        "The Azure Connected Machine agent's local configuration settings (proxy, extension allow and block lists, config.mode, ...), as azcm config sets them.",
        instance_schema(),
        false,
    )
}
