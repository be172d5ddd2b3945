//! Documentation that must not drift from the code: the error table and the JSON schemas.

use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn errors_markdown() -> String {
    let mut out = String::from(
        "# AZCM error codes\n\n\
         azcm fails with azcmagent's documented AZCM codes. The process exit code is the code's number\n\
         (`AZCM0023` exits with 23); with `--json` the same code is in `error.code` and `error.exitCode`\n\
         (see [json/README.md](json/README.md)). Every message also carries a remediation.\n\n\
         This table is generated from `src/error.rs` by `tests/docs.rs`\n\
         (`AZCM_BLESS=1 cargo test --test docs` rewrites it).\n\n\
         | Code | Exit code | Name | Probable cause | Remediation |\n\
         |---|---|---|---|---|\n",
    );
    for code in azcm::error::ErrorCode::ALL {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            code.code(),
            code.exit_code(),
            code.name(),
            code.cause(),
            code.remediation().replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn error_table_matches_the_code() {
    let path = repo().join("docs/errors.md");
    let expected = errors_markdown();
    if std::env::var_os("AZCM_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/errors.md is stale; run AZCM_BLESS=1 cargo test --test docs"
    );
}

#[test]
fn every_command_has_a_result_schema_and_the_readme_lists_it() {
    let readme = std::fs::read_to_string(repo().join("docs/json/README.md")).unwrap();
    let mut paths = Vec::new();
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let path = if prefix.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{prefix} {}", sub.get_name())
            };
            if sub.get_subcommands().next().is_some() {
                walk(sub, &path, out);
            } else {
                out.push(path);
            }
        }
    }
    walk(&azcm::cli::command(), "", &mut paths);
    for path in paths {
        let file = format!("{}.schema.json", path.replace(' ', "-"));
        assert!(
            repo().join("docs/json").join(&file).exists(),
            "no docs/json/{file} for `{path}`"
        );
        assert!(
            readme.contains(&file),
            "docs/json/README.md does not list {file}"
        );
    }
}

#[test]
fn the_readme_layout_names_every_top_level_folder_and_file() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let layout = readme
        .split("## Layout")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("README has a Layout section with a code block");
    let named: Vec<&str> = layout
        .lines()
        .flat_map(|l| l.split_whitespace().next())
        .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(repo()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().unwrap().is_dir() || name == ".git" {
            continue;
        }
        if !named.iter().any(|n| n.trim_end_matches('/') == name) {
            missing.push(name);
        }
    }
    // Files kept in git at the top level too: a scratch file committed by mistake fails here.
    let words: Vec<&str> = layout.split_whitespace().collect();
    let tracked = std::process::Command::new("git")
        .args(["ls-files"])
        .current_dir(repo())
        .output()
        .expect("git runs");
    assert!(tracked.status.success(), "git ls-files failed");
    for file in String::from_utf8_lossy(&tracked.stdout).lines() {
        if !file.contains('/') && !words.contains(&file) {
            missing.push(file.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "README's Layout does not name: {missing:?}"
    );
}
