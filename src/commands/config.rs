//! `azcm config clear|get|info|list|set`.

use crate::cli::ConfigAction;
use crate::context::Context;
use crate::error::Result;
use crate::settings::{self, Change, Property, ValueOrigin};
use crate::state::localconfig::{LocalConfig, LocalConfigTxn};
use crate::view::{display_value, Human, Outcome, Section};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Setting {
    pub key: &'static str,
    pub value: Value,
    pub source: ValueOrigin,
    pub is_default: bool,
    pub preview: bool,
}

fn setting(stored: &settings::Stored, prop: &'static Property) -> Setting {
    let (value, source) = settings::effective(stored, prop);
    Setting {
        key: prop.name,
        is_default: value == prop.default_value(),
        value,
        source,
        preview: prop.preview,
    }
}

fn label(prop: &Property) -> String {
    if prop.preview {
        format!("{} (preview)", prop.name)
    } else {
        prop.name.to_string()
    }
}

/// A value and where it comes from, as the admin reads it: the default, set here, or imposed by
/// monitor mode.
fn annotated(s: &Setting) -> String {
    let value = display_value(&s.value);
    match s.source {
        ValueOrigin::MonitorMode => format!("{value} (set by config.mode monitor)"),
        ValueOrigin::Local => format!("{value} (set locally)"),
        ValueOrigin::Default if value.is_empty() => "not set (default)".to_string(),
        ValueOrigin::Default => format!("{value} (default)"),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ListResult {
    config_mode: Value,
    localsettings: Vec<Setting>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangeResult {
    #[serde(flatten)]
    setting: Setting,
    previous_value: Value,
    changed: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PropertyInfo {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    allowed_values: Value,
    default: Value,
    supports_add_remove: bool,
    preview: bool,
    description: &'static str,
    example: &'static str,
}

pub fn run(action: &ConfigAction, ctx: &Context<'_>) -> Result<Outcome> {
    match action {
        ConfigAction::List => list(ctx),
        ConfigAction::Get { name } => get(ctx, name),
        ConfigAction::Info { name } => info(name.as_deref()),
        ConfigAction::Set {
            name,
            value,
            add,
            remove,
        } => {
            let change = match (add, remove) {
                (true, _) => Change::Add(value),
                (_, true) => Change::Remove(value),
                _ => Change::Set(value),
            };
            modify(ctx, "config set", name, change)
        }
        ConfigAction::Clear { name } => modify(ctx, "config clear", name, Change::Clear),
    }
}

fn load(ctx: &Context<'_>) -> Result<LocalConfig> {
    let path = ctx.paths()?.local_config();
    ctx.report.verbose(&format!(
        "reading local configuration from {}",
        path.display()
    ));
    let config = LocalConfig::load(&path)?;
    if let Some(warning) = crate::state::exposure_warning(&path) {
        ctx.report.warning(&warning);
    }
    Ok(config)
}

fn list(ctx: &Context<'_>) -> Result<Outcome> {
    let cfg = load(ctx)?;
    let settings: Vec<Setting> = settings::PROPERTIES
        .iter()
        .map(|p| setting(&cfg.settings, p))
        .collect();
    let mut section = Section::new("Local Configuration Settings");
    for (prop, s) in settings::PROPERTIES.iter().zip(&settings) {
        section = section.row(label(prop), annotated(s));
    }
    let mode = settings::effective(&cfg.settings, settings::find("config.mode")?).0;
    let human = Human::Sections(vec![section]);
    Ok(Outcome::new(
        ListResult {
            config_mode: mode,
            localsettings: settings,
        },
        human,
    ))
}

fn get(ctx: &Context<'_>, name: &str) -> Result<Outcome> {
    let prop = settings::find(name)?;
    let cfg = load(ctx)?;
    let s = setting(&cfg.settings, prop);
    let human = Human::Sections(vec![Section::untitled().row(label(prop), annotated(&s))]);
    Ok(Outcome::new(s, human))
}

fn modify(ctx: &Context<'_>, command: &str, name: &str, change: Change<'_>) -> Result<Outcome> {
    let prop = settings::find(name)?;
    ctx.require_admin_to_change_state(command)?;
    let mut txn = LocalConfigTxn::begin(ctx.paths()?)?;
    let before = settings::effective(&txn.config.settings, prop).0;
    let applied = settings::apply(&txn.config.settings, prop, change)?;
    for warning in &applied.warnings {
        ctx.report.warning(warning);
    }
    let changed = applied.stored != txn.config.settings;
    let s = setting(&applied.stored, prop);
    if changed {
        txn.config.settings = applied.stored;
        ctx.report.verbose(&format!(
            "writing {}",
            ctx.paths()?.local_config().display()
        ));
        txn.commit()?;
    } else {
        ctx.report
            .verbose("the configuration already had this value; nothing written");
    }
    let human = Human::Sections(vec![Section::untitled().row(label(prop), annotated(&s))]);
    Ok(Outcome::new(
        ChangeResult {
            setting: s,
            previous_value: before,
            changed,
        },
        human,
    ))
}

fn info(name: Option<&str>) -> Result<Outcome> {
    let props: Vec<&'static Property> = match name {
        Some(n) => vec![settings::find(n)?],
        None => settings::PROPERTIES.iter().collect(),
    };
    let infos: Vec<PropertyInfo> = props
        .iter()
        .map(|p| PropertyInfo {
            name: p.name,
            kind: p.kind.type_name(),
            allowed_values: p.allowed(),
            default: p.default_value(),
            supports_add_remove: p.kind.is_list(),
            preview: p.preview,
            description: p.description,
            example: p.example,
        })
        .collect();
    let sections = infos
        .iter()
        .map(|i| {
            let allowed = match &i.allowed_values {
                Value::Array(_) => display_value(&i.allowed_values),
                other => display_value(other),
            };
            Section::new(if i.preview {
                format!("{} (preview)", i.name)
            } else {
                i.name.to_string()
            })
            .row("Type", i.kind)
            .row("Allowed values", allowed)
            .row("Default", display_value(&i.default))
            .row(
                "Add/remove",
                if i.supports_add_remove {
                    "yes (--add, --remove)"
                } else {
                    "no"
                },
            )
            .row("Description", i.description)
            .row("Example", i.example)
        })
        .collect();
    #[derive(Serialize)]
    struct InfoResult {
        properties: Vec<PropertyInfo>,
    }
    Ok(Outcome::new(
        InfoResult { properties: infos },
        Human::Sections(sections),
    ))
}
