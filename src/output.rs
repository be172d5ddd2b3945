//! The only place that writes to stdout and stderr: the JSON envelope, the human views,
//! and the event stream (docs/json/README.md describes all three).

use crate::error::AzcmError;
use crate::report::Reporter;
use crate::view::{Human, Outcome, Section};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::io::{self, IsTerminal, Write};
use std::time::SystemTime;

/// Version of the envelope and event formats; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// What the user asked for with the global flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prefs {
    pub json: bool,
    pub log_stderr: bool,
    pub no_color: bool,
    pub verbose: bool,
    /// A DSC resource operation for Microsoft's dsc (`azcm dsc …` without --json): stdout
    /// holds only the protocol's JSON lines, every message is a dsc trace line on stderr.
    pub dsc: bool,
}

impl Prefs {
    pub fn from_global(g: &crate::cli::GlobalArgs) -> Self {
        Self {
            json: g.json,
            log_stderr: g.log_stderr,
            no_color: g.no_color,
            verbose: g.verbose,
            dsc: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

pub struct Output {
    prefs: Prefs,
    color_out: bool,
    color_err: bool,
    warnings: RefCell<Vec<String>>,
    /// Progress for a person at a terminal (human mode, stderr a terminal, not --verbose):
    /// a redrawn line with a bar, or with --no-color/NO_COLOR one plain line per step.
    progress: Option<RefCell<Live>>,
    /// The progress record last said, for `still_working` to say again.
    last_progress: RefCell<Option<SaidProgress>>,
}

/// A progress record, when its step began, and the whole seconds it was last said again with.
struct SaidProgress {
    activity: String,
    status: String,
    percent: Option<u8>,
    began: std::time::Instant,
    said_seconds: u64,
}

/// The progress shown on the terminal so far.
#[derive(Default)]
struct Live {
    /// A redrawn line is on the screen (cleared before anything else is written).
    drawn: bool,
    /// The activity and the step last shown (plain mode prints a line only when it changes).
    activity: String,
    status: String,
    started: Option<std::time::Instant>,
}

fn color_allowed(prefs: &Prefs, is_terminal: bool) -> bool {
    is_terminal && !prefs.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Output {
    pub fn new(prefs: Prefs) -> Self {
        let person = !prefs.json && !prefs.verbose && !prefs.dsc && io::stderr().is_terminal();
        Self {
            color_out: color_allowed(&prefs, io::stdout().is_terminal()),
            color_err: color_allowed(&prefs, io::stderr().is_terminal()),
            progress: person.then(|| RefCell::new(Live::default())),
            last_progress: RefCell::new(None),
            prefs,
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// Takes a redrawn progress line off the screen before other text is written.
    fn clear_live(&self) {
        if let Some(live) = &self.progress {
            let mut live = live.borrow_mut();
            if live.drawn {
                let _ = io::stderr().lock().write_all(b"\r\x1b[2K");
                live.drawn = false;
            }
        }
    }

    /// The step that runs, for a person: `Connect [########------------] 40%  resource group`
    /// redrawn in place, or (plain) one line per new step.
    /// With `seconds`, the step is said again after that long: the redrawn line shows it, and
    /// plain mode (a line per step) prints nothing new.
    fn show_progress(
        &self,
        activity: &str,
        status: &str,
        percent: Option<u8>,
        seconds: Option<u64>,
    ) {
        let Some(live) = &self.progress else { return };
        let mut live = live.borrow_mut();
        live.started.get_or_insert_with(std::time::Instant::now);
        // A wait shows under its own name but does not replace the command's activity.
        if activity != crate::report::WAITING {
            live.activity = activity.to_string();
        }
        let status = crate::terminal::field(status);
        let took = seconds.map(|s| format!(" ({s} s)")).unwrap_or_default();
        let line = match percent {
            Some(p) => {
                let filled = usize::from(p.min(100)) * 20 / 100;
                format!(
                    "{activity} [{}{}] {p:>3}%  {status}{took}",
                    "#".repeat(filled),
                    "-".repeat(20 - filled)
                )
            }
            None => format!("{activity}: {status}{took}"),
        };
        let mut err = io::stderr().lock();
        if self.color_err {
            let _ = write!(err, "\r\x1b[2K{}", crate::view::cut(&line, 200));
            live.drawn = true;
        } else if live.status != *status {
            let _ = writeln!(err, "{}", crate::view::cut(&line, 200));
        }
        live.status = status.into_owned();
        let _ = err.flush();
    }

    /// The one line that ends the progress: what happened, and how long it took.
    fn end_progress(&self, ok: bool) {
        self.clear_live();
        let Some(cell) = &self.progress else { return };
        let line = {
            let live = cell.borrow();
            if live.activity.is_empty() {
                return;
            }
            let took = live
                .started
                .map(|s| format!(" in {:.1} s", s.elapsed().as_secs_f64()))
                .unwrap_or_default();
            match ok {
                true => format!("{}: done{took}\n", live.activity),
                false => format!("{}: failed at \"{}\"{took}\n", live.activity, live.status),
            }
        };
        self.write(Stream::Err, &line);
    }

    pub fn prefs(&self) -> Prefs {
        self.prefs
    }

    /// Where human messages (verbose, warnings, errors) go: stdout like azcmagent, unless
    /// --log-stderr, or --json (stdout then holds only the document).
    fn message_stream(&self) -> Stream {
        if self.prefs.log_stderr || self.prefs.json {
            Stream::Err
        } else {
            Stream::Out
        }
    }

    fn events_as_json(&self) -> bool {
        self.prefs.json && self.prefs.log_stderr
    }

    /// One of dsc's trace lines on stderr (`{"warn":"…"}`): dsc shows it at its own trace
    /// level, under the resource's name.
    fn dsc_trace(&self, level: &str, message: &str) {
        self.write(Stream::Err, &format!("{}\n", json!({ level: message })));
    }

    fn paint(&self, stream: Stream, style: &str, text: &str) -> String {
        let on = match stream {
            Stream::Out => self.color_out,
            Stream::Err => self.color_err,
        };
        if on {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// Writes, ignoring a closed pipe: `azcm config list | head -1` must not panic.
    fn write(&self, stream: Stream, text: &str) {
        self.clear_live();
        let _ = match stream {
            Stream::Out => io::stdout().lock().write_all(text.as_bytes()),
            Stream::Err => io::stderr().lock().write_all(text.as_bytes()),
        };
    }

    fn event(&self, mut event: Value) {
        if let Value::Object(map) = &mut event {
            map.insert(
                "time".into(),
                json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
            );
        }
        self.write(Stream::Err, &format!("{event}\n"));
    }

    fn envelope(&self, command: &str, ok: bool) -> serde_json::Map<String, Value> {
        let mut doc = serde_json::Map::new();
        doc.insert("schemaVersion".into(), json!(SCHEMA_VERSION));
        doc.insert("command".into(), json!(command));
        doc.insert("ok".into(), json!(ok));
        doc
    }

    fn print_document(&self, doc: serde_json::Map<String, Value>) {
        let text =
            serde_json::to_string_pretty(&Value::Object(doc)).expect("JSON values serialise");
        self.write(Stream::Out, &format!("{text}\n"));
    }

    /// Renders a successful command; returns the exit code (0).
    pub fn success(&self, command: &str, outcome: Outcome) -> i32 {
        self.end_progress(true);
        if self.prefs.json {
            let mut doc = self.envelope(command, true);
            doc.insert("result".into(), outcome.result);
            doc.insert("warnings".into(), json!(*self.warnings.borrow()));
            self.print_document(doc);
        } else {
            let text = self.render_human(outcome.human, &outcome.result);
            self.write(Stream::Out, &text);
        }
        0
    }

    /// Renders a failure; returns its exit code (the AZCM number).
    pub fn failure(&self, command: &str, err: &AzcmError) -> i32 {
        self.end_progress(false);
        if self.prefs.dsc {
            // dsc prints the resource's error trace and names the exit code from the manifest.
            self.dsc_trace(
                "error",
                &format!(
                    "{} {}: {} Remediation: {}",
                    err.code.code(),
                    err.code.name(),
                    err.shown_message(),
                    remediation_for(command, err.remediation())
                ),
            );
        } else if self.prefs.json {
            let mut doc = self.envelope(command, false);
            doc.insert("warnings".into(), json!(*self.warnings.borrow()));
            let mut error = serde_json::to_value(err.to_json()).expect("error serialises");
            error["remediation"] = json!(remediation_for(command, err.remediation()));
            doc.insert("error".into(), error);
            self.print_document(doc);
        } else {
            if let Some(view) = &err.view {
                let view = crate::terminal::lines(view);
                self.write(Stream::Out, &format!("{}\n", view.trim_end()));
            }
            let stream = self.message_stream();
            // Only the first line is azcm's sentence; any further lines come from a server's
            // text (an ARM or Entra ID message) and are shown indented and quoted, so a line
            // break in them cannot forge a "Remediation:" line that looks like azcm's own.
            let shown = err.shown_message();
            let message = crate::terminal::lines(&shown);
            let mut lines = message.lines();
            let mut text = format!(
                "{} {}\n",
                self.paint(stream, RED, &format!("Error ({}):", err.code.code())),
                lines.next().unwrap_or("")
            );
            for quoted in lines {
                text.push_str(&format!("    | {quoted}\n"));
            }
            text.push_str(&format!(
                "{} {}\n",
                self.paint(stream, DIM, "Remediation:"),
                crate::terminal::lines(&remediation_for(command, err.remediation()))
            ));
            self.write(stream, &text);
        }
        err.exit_code()
    }

    fn render_human(&self, human: Human, result: &Value) -> String {
        match human {
            Human::Text(text) => {
                let mut t = crate::terminal::lines(&text).into_owned();
                // Nothing to say is no output (a DSC export with no instance), not a blank line.
                if !t.is_empty() && !t.ends_with('\n') {
                    t.push('\n');
                }
                t
            }
            Human::Sections(sections) => sections
                .iter()
                .map(|s| self.render_section(s))
                .collect::<Vec<_>>()
                .join("\n"),
            Human::Later(view) => self.render_human(view(result), result),
        }
    }

    fn render_section(&self, section: &Section) -> String {
        let mut out = String::new();
        let indent = if let Some(title) = &section.title {
            out.push_str(&self.paint(Stream::Out, BOLD, &crate::terminal::field(title)));
            out.push('\n');
            "  "
        } else {
            ""
        };
        let width = section
            .rows
            .iter()
            .map(|(label, _)| crate::terminal::field(label).chars().count())
            .max()
            .unwrap_or(0);
        for (label, value) in &section.rows {
            let value = crate::view::cut(value, crate::view::MAX_VIEW_VALUE);
            let (label, value) = (
                crate::terminal::field(label),
                crate::terminal::field(&value),
            );
            let pad = width.saturating_sub(label.chars().count());
            out.push_str(&format!("{indent}{label}{} : {value}\n", " ".repeat(pad)));
        }
        out
    }
}

/// A code's generic remediation names `azcm <command>`; printed, it names the command that ran
/// (`azcm config get --help`), or plain `azcm` when none was recognised.
fn remediation_for<'a>(command: &str, text: &'a str) -> std::borrow::Cow<'a, str> {
    if !text.contains("azcm <command>") {
        return std::borrow::Cow::Borrowed(text);
    }
    let named = if command.is_empty() {
        "azcm".to_string()
    } else {
        format!("azcm {command}")
    };
    std::borrow::Cow::Owned(text.replace("azcm <command>", &named))
}

impl Reporter for Output {
    fn verbose(&self, message: &str) {
        if self.prefs.dsc {
            return self.dsc_trace("debug", message);
        }
        if !self.prefs.verbose {
            return;
        }
        if self.events_as_json() {
            self.event(json!({"level": "verbose", "message": message}));
        } else {
            let stream = self.message_stream();
            self.write(
                stream,
                &format!(
                    "{} {}\n",
                    self.paint(stream, DIM, "VERBOSE:"),
                    crate::terminal::lines(message)
                ),
            );
        }
    }

    fn warning(&self, message: &str) {
        self.warnings.borrow_mut().push(message.to_string());
        if self.prefs.dsc {
            self.dsc_trace("warn", message);
        } else if self.events_as_json() {
            self.event(json!({"level": "warning", "message": message}));
        } else if !self.prefs.json {
            let stream = self.message_stream();
            self.write(
                stream,
                &format!(
                    "{} {}\n",
                    self.paint(stream, YELLOW, "WARNING:"),
                    crate::terminal::lines(message)
                ),
            );
        }
    }

    fn info(&self, message: &str) {
        if self.prefs.dsc {
            // dsc shows WARN and above by default; what a person must act on (a device code)
            // has to reach them.
            self.dsc_trace("warn", message);
        } else if self.events_as_json() {
            self.event(json!({"level": "information", "message": message}));
        } else if self.prefs.json {
            self.write(
                Stream::Err,
                &format!("{}\n", crate::terminal::lines(message)),
            );
        } else {
            let stream = if self.prefs.log_stderr {
                Stream::Err
            } else {
                Stream::Out
            };
            self.write(stream, &format!("{}\n", crate::terminal::lines(message)));
        }
    }

    fn prompt(&self, text: &str) {
        self.write(Stream::Err, &crate::terminal::lines(text));
    }

    fn progress(&self, activity: &str, status: &str, percent: Option<u8>) {
        let now = std::time::Instant::now();
        *self.last_progress.borrow_mut() = Some(SaidProgress {
            activity: activity.to_string(),
            status: status.to_string(),
            percent,
            began: now,
            said_seconds: 0,
        });
        if self.prefs.dsc {
            self.dsc_trace("trace", &format!("{activity}: {status}"));
        } else if self.events_as_json() {
            self.event(json!({"level": "progress", "progress": {"activity": activity, "status": status, "percent": percent}}));
        } else if self.prefs.verbose {
            self.verbose(&format!("{activity}: {status}"));
        } else {
            self.show_progress(activity, status, percent, None);
        }
    }

    fn still_working(&self) {
        let mut last = self.last_progress.borrow_mut();
        let Some(step) = last.as_mut() else { return };
        // Said once per whole second the step has run (1 s, 2 s, …): a count that never says
        // "0 s" and never skips a second, however late the caller's tick comes.
        let seconds = step.began.elapsed().as_secs();
        if seconds <= step.said_seconds {
            return;
        }
        step.said_seconds = seconds;
        if self.events_as_json() {
            self.event(json!({"level": "progress", "progress": {"activity": step.activity, "status": step.status, "percent": step.percent, "seconds": seconds}}));
        } else if !self.prefs.verbose {
            self.show_progress(&step.activity, &step.status, step.percent, Some(seconds));
        }
    }
}
