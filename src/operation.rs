//! A multi-step operation (connect, disconnect): its steps, their progress and timings, and the
//! changes it makes. The steps are planned up front from the request, so the plan yields the
//! total: the percentage users see (Write-Progress in the module) only moves forward, passes over
//! planned steps that turn out not to be needed, and ends at 100.

use crate::report::Reporter;
use serde::Serialize;
use std::time::Instant;

/// A step of an operation: its name in the result's `steps` and what progress says meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub name: &'static str,
    pub status: &'static str,
}

impl Step {
    pub const fn new(name: &'static str, status: &'static str) -> Self {
        Self { name, status }
    }
}

/// How long a step took, as the result's `steps` lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepTiming {
    pub name: &'static str,
    pub ms: u128,
}

/// A change an operation makes, or with `--what-if` would make (`done: false`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub action: String,
    pub target: String,
    /// The change as an admin reads it: "Create resource group HybridServers in westeurope".
    pub description: String,
    pub done: bool,
}

/// The changes of one run: all done, or (what-if) none.
pub struct Actions {
    what_if: bool,
    pub list: Vec<Action>,
}

impl Actions {
    pub fn new(what_if: bool) -> Self {
        Self {
            what_if,
            list: Vec::new(),
        }
    }

    /// Whether the changes are only listed (--what-if), not made.
    pub fn what_if(&self) -> bool {
        self.what_if
    }

    /// A change: its machine-readable name (`createResourceGroup`), its target, and the
    /// sentence views and -WhatIf show ("Create resource group HybridServers in westeurope").
    pub fn add(&mut self, action: &str, target: &str, description: String) {
        self.list.push(Action {
            action: action.to_string(),
            target: target.to_string(),
            description,
            done: !self.what_if,
        });
    }
}

/// Times the steps of a plan and reports each as progress.
pub struct Steps<'r> {
    report: &'r dyn Reporter,
    activity: &'static str,
    plan: Vec<Step>,
    /// Index in `plan` of the first step not begun yet.
    next: usize,
    started: Option<(&'static str, Instant)>,
    timings: Vec<StepTiming>,
}

impl<'r> Steps<'r> {
    pub fn new(report: &'r dyn Reporter, activity: &'static str, plan: Vec<Step>) -> Self {
        Self {
            report,
            activity,
            plan,
            next: 0,
            started: None,
            timings: Vec::new(),
        }
    }

    fn percent(&self, done: usize) -> u8 {
        (done * 100 / self.plan.len().max(1)).min(100) as u8
    }

    /// Ends the running step and begins `name`, the next planned step of that name; planned
    /// steps before it that were not needed are passed over.
    pub fn begin(&mut self, name: &'static str) {
        self.end_step();
        let found = self.plan[self.next..]
            .iter()
            .position(|s| s.name == name)
            .map(|i| i + self.next);
        // A step missing from the plan is a bug in the plan; a release build still reports it,
        // without moving the percentage.
        debug_assert!(
            found.is_some(),
            "step {name} is not in the rest of the plan"
        );
        let (status, percent) = match found {
            Some(at) => {
                self.next = at + 1;
                (self.plan[at].status, self.percent(at))
            }
            None => (name, self.percent(self.next.saturating_sub(1))),
        };
        self.report.progress(self.activity, status, Some(percent));
        self.started = Some((name, Instant::now()));
    }

    fn end_step(&mut self) {
        if let Some((name, at)) = self.started.take() {
            self.timings.push(StepTiming {
                name,
                ms: at.elapsed().as_millis(),
            });
        }
    }

    /// Ends the last step, reports 100 and returns every step's timing.
    pub fn finish(mut self) -> Vec<StepTiming> {
        self.end_step();
        self.report.progress(self.activity, "done", Some(100));
        self.timings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Recorder(RefCell<Vec<(String, u8)>>);

    impl Reporter for Recorder {
        fn verbose(&self, _: &str) {}
        fn warning(&self, _: &str) {}
        fn info(&self, _: &str) {}
        fn progress(&self, _: &str, status: &str, percent: Option<u8>) {
            self.0
                .borrow_mut()
                .push((status.to_string(), percent.unwrap()));
        }
    }

    fn plan(names: &[&'static str]) -> Vec<Step> {
        names
            .iter()
            .map(|&name| Step { name, status: name })
            .collect()
    }

    #[test]
    fn the_plan_yields_the_total_and_passed_over_steps_only_move_forward() {
        let report = Recorder::default();
        let mut steps = Steps::new(&report, "Connect", plan(&["a", "b", "c", "d"]));
        steps.begin("a");
        steps.begin("c");
        steps.begin("d");
        let timings = steps.finish();
        assert_eq!(
            report.0.into_inner(),
            [
                ("a".to_string(), 0),
                ("c".to_string(), 50),
                ("d".to_string(), 75),
                ("done".to_string(), 100)
            ]
        );
        let names: Vec<_> = timings.iter().map(|t| t.name).collect();
        assert_eq!(names, ["a", "c", "d"]);
    }

    #[test]
    fn fifteen_planned_steps_count_as_fifteen() {
        let names: Vec<&'static str> = (0..15)
            .map(|i| &*Box::leak(format!("s{i}").into_boxed_str()))
            .collect();
        let report = Recorder::default();
        let mut steps = Steps::new(&report, "Connect", plan(&names));
        for name in &names {
            steps.begin(name);
        }
        steps.finish();
        let percents: Vec<u8> = report.0.into_inner().into_iter().map(|(_, p)| p).collect();
        assert!(percents.windows(2).all(|w| w[0] < w[1]), "{percents:?}");
        assert_eq!(percents[14], 93);
        assert_eq!(*percents.last().unwrap(), 100);
    }
}
