//! The shape of the source tree, as DEVELOPERS.md and docs describe it: commands never import
//! commands (work two commands share has its own module below them), services never import
//! commands or the output layer, and no function in src/commands/ runs past about 120 lines.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The code before `#[cfg(test)]`: unit tests may use `super::*`.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Every `use` declaration, joined onto one line (a `use` may span several).
fn use_declarations(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in code.lines() {
        let trimmed = line.trim();
        if current.is_none() && (trimmed.starts_with("use ") || trimmed.starts_with("pub use ")) {
            current = Some(String::new());
        }
        if let Some(text) = current.as_mut() {
            text.push_str(trimmed);
            if trimmed.ends_with(';') {
                out.push(current.take().unwrap());
            }
        }
    }
    out
}

#[test]
fn no_command_imports_another_command() {
    let commands = src().join("commands");
    let names: Vec<String> = rust_files(&commands)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "mod")
        .collect();
    assert!(names.len() >= 11, "{names:?}");
    let mut offences = Vec::new();
    for file in rust_files(&commands) {
        if file.ends_with("mod.rs") {
            continue;
        }
        let code = code(&file);
        for decl in use_declarations(&code) {
            if decl.contains("super::") || decl.contains("crate::commands") {
                offences.push(format!("{}: {decl}", file.display()));
            }
        }
        // A path written out in the code, not imported, counts too.
        for name in &names {
            for pattern in [format!("super::{name}::"), format!("commands::{name}::")] {
                if code.contains(&pattern) {
                    offences.push(format!("{}: uses {pattern}", file.display()));
                }
            }
        }
        if code.contains("super::") {
            offences.push(format!("{}: reaches into commands/mod.rs", file.display()));
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

#[test]
fn services_never_import_commands_or_output() {
    let mut offences = Vec::new();
    for file in rust_files(&src()) {
        let relative = file
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if relative.starts_with("commands/") || relative == "lib.rs" || relative == "main.rs" {
            continue;
        }
        let code = code(&file);
        for decl in use_declarations(&code) {
            if decl.contains("crate::commands") || decl.contains("crate::output") {
                offences.push(format!("{relative}: {decl}"));
            }
        }
        if code.contains("crate::commands::") || code.contains("crate::output::") {
            offences.push(format!(
                "{relative}: names crate::commands or crate::output"
            ));
        }
    }
    assert!(offences.is_empty(), "{}", offences.join("\n"));
}

/// Each `fn` and its length in lines, from its line to the matching closing brace. Strings and
/// comments are blanked first so their braces do not count.
fn function_lengths(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<String> = code.lines().map(blank_strings_and_comments).collect();
    let mut out = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let after = [
            "pub fn ",
            "fn ",
            "pub async fn ",
            "async fn ",
            "pub(crate) fn ",
        ]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p));
        let Some(after) = after else { continue };
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0i32;
        let mut opened = false;
        for (at, l) in lines.iter().enumerate().skip(start) {
            for c in l.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && l.trim_end().ends_with(';') {
                break;
            }
            if opened && depth == 0 {
                out.push((name.clone(), at - start + 1));
                break;
            }
        }
    }
    out
}

fn blank_strings_and_comments(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match (in_string, c) {
            (false, '/') if chars.peek() == Some(&'/') => break,
            (false, '"') => in_string = true,
            (true, '\\') => {
                chars.next();
            }
            (true, '"') => in_string = false,
            (false, '\'') => {
                // A char literal like '{' (not a lifetime).
                let rest: String = chars.clone().take(3).collect();
                if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                    continue;
                }
                out.push(c);
            }
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    out
}

#[test]
fn the_length_counter_counts() {
    let code = "fn a() {\n    let s = \"{\";\n    // }\n}\nfn b() -> char { '}' }\n";
    assert_eq!(
        function_lengths(code),
        [("a".to_string(), 4), ("b".to_string(), 1)]
    );
}

#[test]
fn no_function_in_the_commands_runs_past_120_lines() {
    let mut long = Vec::new();
    for file in rust_files(&src().join("commands")) {
        for (name, lines) in function_lengths(&code(&file)) {
            if lines > 120 {
                long.push(format!("{}::{name}: {lines} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
}
