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
}

/// Human output: free text, or azcmagent-style aligned `Label : value` sections.
#[derive(Debug)]
pub enum Human {
    Text(String),
    Sections(Vec<Section>),
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
                .map(|cell| crate::terminal::field(&cell).into_owned())
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
            .map(|(c, w)| format!("{c:<w$}", w = *w))
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

/// Formats a stored/effective JSON value the way azcmagent's human output shows it.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(display_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
