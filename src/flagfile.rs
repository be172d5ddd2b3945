//! `--config FILE`: flag values from a JSON or YAML map of long flag names, as azcmagent
//! documents it. Values from the file become flags of the same invocation; a flag also given
//! on the command line keeps the command line's value.

use crate::error::{AzcmError, ErrorCode, Result};
use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches};
use serde_json::Value;
use std::ffi::OsString;
use std::path::Path;

/// The global flag that names the file; it cannot appear inside the file.
const CONFIG_FLAG: &str = "config";

fn file_error(path: &Path, why: impl std::fmt::Display) -> AzcmError {
    AzcmError::new(
        ErrorCode::CONFIG_FILE,
        format!(
            "cannot use the configuration file {}: {why}",
            path.display()
        ),
    )
    .with_detail("path", path.display().to_string())
}

/// Reads the file as a map of flag name → value.
pub fn read(path: &Path) -> Result<serde_json::Map<String, Value>> {
    let text = crate::files::read_input_text(path, crate::files::MAX_FLAG_FILE)
        .map_err(|e| file_error(path, e))?;
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    parse(&text, is_json).map_err(|why| file_error(path, why))
}

/// The most flow collections (`[`, `{`) a YAML flag file may open: YAML's scanner slows down
/// with the square of their nesting (32,000 levels took 9 s), and a flag file needs a handful.
pub const MAX_YAML_FLOW_COLLECTIONS: usize = 256;

/// A flag file's top level, where a flag named twice is an error (JSON parsers otherwise keep
/// the last one silently, and the admin's first value is lost without a word).
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Top;
        impl<'de> serde::de::Visitor<'de> for Top {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of flag names to values")
            }
            fn visit_unit<E>(self) -> std::result::Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Null))
            }
            // An empty YAML document.
            fn visit_none<E>(self) -> std::result::Result<UniqueKeys, E> {
                Ok(UniqueKeys(Value::Null))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> std::result::Result<UniqueKeys, A::Error> {
                let mut map = serde_json::Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    if map.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "'{}' is given twice",
                            crate::error::excerpt(&key)
                        )));
                    }
                    let value: Value = access.next_value()?;
                    map.insert(key, value);
                }
                Ok(UniqueKeys(Value::Object(map)))
            }
        }
        d.deserialize_any(Top)
    }
}

/// The map a flag file's text holds (JSON, else YAML); the reason when it holds none.
pub fn parse(
    text: &str,
    is_json: bool,
) -> std::result::Result<serde_json::Map<String, Value>, String> {
    // As Windows Notepad and Windows PowerShell 5.1's `Set-Content -Encoding UTF8` write it:
    // a byte order mark first (CRLF line ends parse as they are).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = if is_json {
        serde_json::from_str::<UniqueKeys>(text)
            .map_err(|e| format!("invalid JSON: {e}"))?
            .0
    } else {
        let opened = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
        if opened > MAX_YAML_FLOW_COLLECTIONS {
            return Err(format!(
                "invalid YAML or JSON: it opens {opened} [ or {{ collections, more than the {MAX_YAML_FLOW_COLLECTIONS} azcm reads"
            ));
        }
        serde_norway::from_str::<UniqueKeys>(text)
            .map_err(|e| format!("invalid YAML or JSON: {e}"))?
            .0
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Default::default()),
        _ => Err("the file must hold a map of flag names to values".into()),
    }
}

/// The output flags a file asks for, read even when the file is otherwise rejected, so a
/// script that puts `json: true` in its file still gets its failure as JSON.
pub fn output_flags(matches: &ArgMatches) -> Vec<&'static str> {
    let Some(path) = matches.get_one::<std::path::PathBuf>(CONFIG_FLAG) else {
        return Vec::new();
    };
    let Ok(entries) = read(path) else {
        return Vec::new();
    };
    ["json", "log-stderr", "no-color", "verbose"]
        .into_iter()
        .filter(|flag| {
            entries.iter().any(|(k, v)| {
                k.trim_start_matches('-') == *flag
                    && (v == &Value::Bool(true)
                        || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")))
            })
        })
        .collect()
}

/// The leaf subcommand's definition and matches (`config set` → the `set` command).
fn leaf<'a>(
    mut cmd: &'a clap::Command,
    mut matches: &'a ArgMatches,
) -> (&'a clap::Command, &'a ArgMatches) {
    while let Some((name, sub_matches)) = matches.subcommand() {
        match cmd.find_subcommand(name) {
            Some(sub) => {
                cmd = sub;
                matches = sub_matches;
            }
            None => break,
        }
    }
    (cmd, matches)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Long names of the flags of the leaf command that were typed on the command line.
pub fn command_line_flags(cmd: &clap::Command, matches: &ArgMatches) -> Vec<String> {
    let (leaf_cmd, leaf_matches) = leaf(cmd, matches);
    leaf_cmd
        .get_arguments()
        .filter(|a| {
            leaf_matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
        })
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect()
}

/// The command tree with nothing required: the first parse, which finds `--config`, must not
/// fail for flags the file is about to supply (a whole connect, secret included, may come from
/// it, as Microsoft documents for azcmagent). Required-ness is checked by the second parse,
/// after the file is merged.
pub fn relaxed(cmd: clap::Command) -> clap::Command {
    let groups: Vec<clap::Id> = cmd.get_groups().map(|g| g.get_id().clone()).collect();
    let subcommands: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd.mut_args(|a| a.required(false));
    for group in groups {
        cmd = cmd.mut_group(group, |g| g.required(false));
    }
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, relaxed);
    }
    cmd.subcommand_required(false).arg_required_else_help(false)
}

/// Returns the argument list with the file's values added as flags, or `None` when no
/// `--config` was given. `cmd` must be built (`cli::command()`).
pub fn expand(
    cmd: &clap::Command,
    matches: &ArgMatches,
    args: &[OsString],
) -> Result<Option<Vec<OsString>>> {
    let Some(path) = matches.get_one::<std::path::PathBuf>(CONFIG_FLAG) else {
        return Ok(None);
    };
    let entries = read(path)?;
    let (leaf_cmd, leaf_matches) = leaf(cmd, matches);
    let valid: Vec<String> = leaf_cmd
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| *l != CONFIG_FLAG && *l != "help")
        .map(|l| l.to_string())
        .collect();

    let mut extra: Vec<OsString> = Vec::new();
    for (key, value) in entries {
        let name = key.trim_start_matches('-');
        let arg = leaf_cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(name) && name != CONFIG_FLAG && name != "help")
            .ok_or_else(|| {
                AzcmError::invalid_argument(format!(
                    "unknown key '{key}' in the configuration file {}; valid keys for this command: {}",
                    path.display(),
                    valid.join(", ")
                ))
                .with_detail("path", path.display().to_string())
                .with_detail("key", key.as_str())
                .with_detail("validKeys", valid.clone())
            })?;
        let from_command_line = |a: &clap::Arg| {
            leaf_matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
        };
        // The command line wins: over the same flag, and over a flag it excludes (--add vs --remove).
        let excluded = leaf_cmd
            .get_arguments()
            .filter(|given| from_command_line(given))
            .any(|given| {
                leaf_cmd
                    .get_arg_conflicts_with(given)
                    .iter()
                    .any(|c| c.get_id() == arg.get_id())
                    || leaf_cmd
                        .get_arg_conflicts_with(arg)
                        .iter()
                        .any(|c| c.get_id() == given.get_id())
            });
        if from_command_line(arg) || excluded {
            continue;
        }
        let bad_type = |expected: &str| {
            AzcmError::invalid_argument(format!(
                "key '{key}' in the configuration file {} must be {expected}",
                path.display()
            ))
            .with_detail("path", path.display().to_string())
            .with_detail("key", key.as_str())
        };
        match arg.get_action() {
            ArgAction::SetTrue | ArgAction::SetFalse => {
                let on = match &value {
                    Value::Bool(b) => *b,
                    Value::String(s) if s.eq_ignore_ascii_case("true") => true,
                    Value::String(s) if s.eq_ignore_ascii_case("false") => false,
                    _ => return Err(bad_type("true or false")),
                };
                let wanted = matches!(arg.get_action(), ArgAction::SetTrue) == on;
                if wanted {
                    extra.push(format!("--{name}").into());
                }
            }
            ArgAction::Append => {
                let items = match &value {
                    Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
                    other => scalar(other).map(|s| vec![s]),
                }
                .ok_or_else(|| bad_type("a value or a list of values"))?;
                for item in items {
                    extra.push(format!("--{name}={item}").into());
                }
            }
            _ => {
                let text = match &value {
                    Value::Array(items) if arg.get_value_delimiter().is_some() => items
                        .iter()
                        .map(scalar)
                        .collect::<Option<Vec<_>>>()
                        .map(|v| v.join(","))
                        .ok_or_else(|| bad_type("a list of values"))?,
                    other => scalar(other).ok_or_else(|| bad_type("a single value"))?,
                };
                extra.push(format!("--{name}={text}").into());
            }
        }
    }

    // Flags must precede a `--` terminator, after which everything is positional.
    let mut out = args.to_vec();
    let at = out.iter().position(|a| a == "--").unwrap_or(out.len());
    out.splice(at..at, extra);
    Ok(Some(out))
}
