//! What a command returns, before the output layer renders it: the JSON `result` and the
//! human view of the same facts (free text or azcmagent-style `Label : value` sections), and the
//! text helpers those views are built with.

use serde::Serialize;
use serde_json::Value;

/// A command's result: the JSON `result` and the human view of the same facts.
#[derive(Debug)]
pub struct Outcome {
    pub result: Value,
    pub human: Human,
}

impl Outcome {
    pub fn new(result: impl Serialize, human: Human) -> Self {
        Self {
            result: serde_json::to_value(result).expect("command results serialise"),
            human,
        }
    }

    /// A result whose human view is built from it only when a person reads it: with --json
    /// the view is never built (values of any length and shape cost nothing there).
    pub fn viewed_with(
        result: impl Serialize,
        view: impl FnOnce(&Value) -> Human + 'static,
    ) -> Self {
        Self::new(result, Human::Later(Box::new(view)))
    }
}

/// Human output: free text, or azcmagent-style aligned `Label : value` sections, or a view
/// built from the JSON result when (and only when) human output is printed.
pub enum Human {
    Text(String),
    Sections(Vec<Section>),
    Later(Box<dyn FnOnce(&Value) -> Human>),
}

impl std::fmt::Debug for Human {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Human::Text(t) => f.debug_tuple("Text").field(t).finish(),
            Human::Sections(s) => f.debug_tuple("Sections").field(s).finish(),
            Human::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// The most characters of one value a human view shows (a table cell, a property); the rest
/// is cut with a marker that says how much. JSON output always carries the whole value.
pub const MAX_VIEW_VALUE: usize = 1000;

/// `text` cut to `max` characters, with `… (N more characters)` where it was cut.
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    crate::error::excerpt_to(text, max)
}

/// `text` followed by spaces up to `width` characters (format!'s own padding panics past
/// 65,535).
fn padded(text: &str, width: usize) -> String {
    let mut out = text.to_string();
    let len = text.chars().count();
    if width > len {
        out.extend(std::iter::repeat_n(' ', width - len));
    }
    out
}

#[derive(Debug, Default)]
pub struct Section {
    pub title: Option<String>,
    pub rows: Vec<(String, String)>,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            rows: Vec::new(),
        }
    }

    pub fn untitled() -> Self {
        Self::default()
    }

    pub fn row(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.rows.push((label.into(), value.into()));
        self
    }
}

/// An aligned text table, azcmagent style: a header, a dashed rule, one line per row.
pub fn text_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.clone()
                .map(|cell| crate::terminal::field(&cut(&cell, MAX_VIEW_VALUE)).into_owned())
        })
        .collect();
    let rows = &rows[..];
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut text = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| padded(c, *w))
            .collect::<Vec<_>>()
            .join("  ");
        text.truncate(text.trim_end().len());
        text.push('\n');
        text
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(header.to_vec());
    out.push_str(&line(rule.iter().map(String::as_str).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A size as people read it: `512 B`, `3.1 KiB`, `12.8 MiB`, `1.0 GiB`.
pub fn bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Formats a stored/effective JSON value for a human view: lists as `a, b` (`none` when
/// empty), no JSON syntax.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_string(),
        Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
