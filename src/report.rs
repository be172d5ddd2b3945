//! How a running command tells the user what it is doing, without printing: the output layer
//! decides whether that becomes text, JSON-lines events on stderr, or nothing.

/// The activity of a progress record that says azcm is waiting (a 429's Retry-After, a
/// long-running operation): shown, and sent as an event, without replacing the command's own.
pub const WAITING: &str = "Waiting";

pub trait Reporter {
    /// Detail shown with --verbose.
    fn verbose(&self, message: &str);
    /// Something the admin should know; also collected into the JSON envelope's `warnings`.
    fn warning(&self, message: &str);
    /// Something the user must see and act on now (a device code sign-in prompt), in every mode.
    fn info(&self, message: &str);
    /// A step of a longer operation (Write-Progress in the PowerShell module).
    fn progress(&self, activity: &str, status: &str, percent: Option<u8>);
    /// The step last reported still runs (a slow answer, a wait): called often during network
    /// work; the reporter says the step again once per whole second it has run, so a reader
    /// sees which step azcm is in and for how long.
    fn still_working(&self) {}
    /// A question for the person at the terminal (a hidden secret's prompt): on stderr, as it
    /// is, with no line end; nothing where nobody is asked.
    fn prompt(&self, _text: &str) {}
}

/// A reporter that drops everything (library callers that want no output).
pub struct Silent;

impl Reporter for Silent {
    fn verbose(&self, _: &str) {}
    fn warning(&self, _: &str) {}
    fn info(&self, _: &str) {}
    fn progress(&self, _: &str, _: &str, _: Option<u8>) {}
}
