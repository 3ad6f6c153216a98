//! Gantt charts of runs and predictions, rendered by the project itself.
//!
//! A [`Timeline`] is a list of [`Bar`]s, one per transition execution, with
//! times in seconds from the run's start. It comes either from the
//! performance model (which knows the exact causal critical path and sets
//! [`Bar::critical`] itself) or from a run's JSON-lines journal
//! ([`Timeline::from_journal`]), where the critical path is approximated from
//! timing alone ([`critical_chain`]).
//!
//! [`Timeline::to_svg`] draws a self-contained SVG with no scripts, fonts or
//! external references, so it can be opened in a browser, attached to a CI
//! report or snapshot-tested: the output depends only on the timeline.

use indexmap::IndexMap;
use std::collections::HashMap;
use std::fmt::{self, Write as _};

/// Two times closer than this are considered equal (journal times are
/// written with sub-millisecond precision; predictions are exact sums that
/// may differ in the last bits).
pub const EPS: f64 = 1e-6;

/// One execution of a transition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bar {
    pub component: String,
    pub transition: String,
    pub behavior: String,
    /// Seconds from the run's start.
    pub start: f64,
    /// Seconds from the run's start.
    pub end: f64,
    /// On the critical path.
    pub critical: bool,
    /// Ended with an error or was interrupted.
    pub failed: bool,
}

/// Everything a chart shows. Times are seconds from the run's start.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    pub title: String,
    pub makespan: f64,
    pub bars: Vec<Bar>,
}

/// A journal that cannot be turned into a timeline. Every variant names the
/// 1-based line number, since journals are long and edited by nobody.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GanttError {
    #[error("journal line {line}: not JSON ({reason})")]
    #[diagnostic(
        code(concerto::gantt::not_json),
        help(
            "every journal line must be one JSON object such as \
             {{\"t\":1.5,\"event\":\"place_reached\",...}}; \
             was the file truncated or edited by hand?"
        )
    )]
    NotJson { line: usize, reason: String },

    #[error("journal line {line}: expected a JSON object, found {found}")]
    #[diagnostic(
        code(concerto::gantt::not_object),
        help("every journal line must be one JSON object with at least `t` and `event`")
    )]
    NotObject { line: usize, found: &'static str },

    /// The line is an object but its fields are missing, mistyped or
    /// inconsistent with earlier lines.
    #[error("journal line {line}: {problem}")]
    #[diagnostic(code(concerto::gantt::bad_event))]
    BadEvent {
        line: usize,
        problem: String,
        #[help]
        help: String,
    },
}

impl Timeline {
    /// Pretty JSON of the struct (the format `serde` gives it).
    pub fn to_json(&self) -> String {
        // Serializing plain strings, floats and booleans cannot fail
        // (non-finite floats become `null`).
        serde_json::to_string_pretty(self).expect("a Timeline always serializes")
    }

    /// Build from a JSON-lines journal written by the engine.
    ///
    /// Bars pair `transition_started` and `transition_ended` by their `run`
    /// id. A transition that started but never ended (the run was
    /// interrupted) becomes a failed bar ending at the last `t` seen. The
    /// makespan is the one in `run_finished` if present, else the last `t`
    /// seen (and never less than the last bar's end). Unknown events are
    /// ignored, so the engine can add new ones freely. The critical path is
    /// then marked with [`Timeline::mark_critical_from_timing`].
    pub fn from_journal(title: &str, text: &str) -> Result<Timeline, GanttError> {
        let mut bars: Vec<Bar> = Vec::new();
        // run id -> (index in `bars`, line of its `transition_started`)
        let mut open: HashMap<u64, (usize, usize)> = HashMap::new();
        let mut last_t = 0.0_f64;
        let mut finished_makespan: Option<f64> = None;

        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                // Tolerate blank lines (a trailing newline, hand-concatenated files).
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(raw).map_err(|e| GanttError::NotJson {
                    line,
                    reason: e.to_string(),
                })?;
            let serde_json::Value::Object(obj) = value else {
                return Err(GanttError::NotObject {
                    line,
                    found: json_kind(&value),
                });
            };
            let ev = Event { obj: &obj, line };
            let t = ev.time("t")?;
            let event = ev.str_field("event")?;
            last_t = last_t.max(t);

            match event {
                "transition_started" => {
                    let run = ev.run()?;
                    let bar = Bar {
                        component: ev.str_field("component")?.to_owned(),
                        transition: ev.str_field("transition")?.to_owned(),
                        behavior: ev.str_field("behavior")?.to_owned(),
                        start: t,
                        end: t,
                        critical: false,
                        failed: false,
                    };
                    if let Some(&(_, first)) = open.get(&run) {
                        return Err(ev.bad(
                            format!("run {run} started again while still running (started on line {first})"),
                            "run ids must be unique among running transitions; \
                             was the journal of another run appended to this one?",
                        ));
                    }
                    open.insert(run, (bars.len(), line));
                    bars.push(bar);
                }
                "transition_ended" => {
                    let run = ev.run()?;
                    let Some((idx, started_on)) = open.remove(&run) else {
                        return Err(ev.bad(
                            format!("`transition_ended` for run {run}, which is not running"),
                            "every `transition_ended` must follow a `transition_started` \
                             with the same `run`; was the beginning of the journal cut off?",
                        ));
                    };
                    let bar = &mut bars[idx];
                    // The end line repeats the names; a mismatch means the
                    // journal is corrupt, and silently pairing would draw lies.
                    for (key, expected) in [
                        ("component", &bar.component),
                        ("transition", &bar.transition),
                        ("behavior", &bar.behavior),
                    ] {
                        if let Some(v) = obj.get(key) {
                            if v.as_str() != Some(expected.as_str()) {
                                return Err(ev.bad(
                                    format!(
                                        "`transition_ended` for run {run} has {key} {v}, \
                                         but run {run} started with {key} {:?} on line {started_on}",
                                        expected
                                    ),
                                    "start and end of a run must name the same transition",
                                ));
                            }
                        }
                    }
                    if t + EPS < bar.start {
                        return Err(ev.bad(
                            format!(
                                "run {run} ends at t={t} before it started (t={} on line {started_on})",
                                bar.start
                            ),
                            "`t` is seconds since the run started and cannot go back for one transition",
                        ));
                    }
                    // `ok` is always written by the engine; an absent one
                    // is read as success rather than rejected.
                    let ok = match obj.get("ok") {
                        None => true,
                        Some(v) => v.as_bool().ok_or_else(|| {
                            ev.bad(
                                format!("field `ok` must be true or false, found {v}"),
                                "`ok` tells whether the transition succeeded",
                            )
                        })?,
                    };
                    bar.end = t.max(bar.start);
                    bar.failed = !ok;
                }
                "run_finished" => {
                    if obj.contains_key("makespan") {
                        finished_makespan = Some(ev.time("makespan")?);
                    }
                }
                // place_reached, port_enabled, behavior_started, ...: not drawn.
                _ => {}
            }
        }

        // Interrupted transitions: draw them up to the last thing we know
        // happened, and flag them so nobody mistakes them for successes.
        for &(idx, _) in open.values() {
            let bar = &mut bars[idx];
            bar.end = last_t.max(bar.start);
            bar.failed = true;
        }

        let last_end = bars.iter().map(|b| b.end).fold(0.0, f64::max);
        let mut timeline = Timeline {
            title: title.to_owned(),
            makespan: finished_makespan.unwrap_or(last_t).max(last_end),
            bars,
        };
        timeline.mark_critical_from_timing();
        Ok(timeline)
    }

    /// Mark as critical exactly the bars of [`critical_chain`] (every other
    /// bar is unmarked, so calling this twice changes nothing). Used for
    /// journals; predictions set `critical` from the causal model instead.
    pub fn mark_critical_from_timing(&mut self) {
        for bar in &mut self.bars {
            bar.critical = false;
        }
        for i in critical_chain(&self.bars) {
            self.bars[i].critical = true;
        }
    }

    /// A self-contained SVG (no scripts, fonts or links) of the timeline:
    /// one 14 px row per bar, grouped by component, with a time axis, a
    /// behavior legend, the critical path outlined in red, failed bars
    /// hatched and a tooltip on every bar. Deterministic, and linear in size
    /// in the number of bars.
    pub fn to_svg(&self) -> String {
        render_svg(self)
    }
}

/// The critical path approximated from timing alone, as indices into `bars`
/// in chronological order (empty iff `bars` is).
///
/// Starts from the bar that ends last and repeatedly steps to its
/// predecessor: among the bars whose end is ≤ this bar's start + [`EPS`],
/// the one with the greatest end, preferring a bar of the same component
/// when ends are equal within [`EPS`]. Stops when a bar starts at ≤ [`EPS`]
/// or has no predecessor. Bars already in the chain are never revisited
/// (zero-length bars would otherwise be each other's predecessor forever).
/// Remaining ties are broken towards the later start, then the later index,
/// so the result is deterministic.
///
/// This is an approximation: "ended just before I started" does not mean
/// "I waited for it" (the wait may have been for a port, or for nothing at
/// all when a transition starts after an idle gap). The performance model
/// knows the actual dependencies and computes the exact causal path.
pub fn critical_chain(bars: &[Bar]) -> Vec<usize> {
    // Sorted by end, a binary search gives the candidates (a prefix) and the
    // greatest end among them (the prefix's last element), so each step
    // costs O(log n) plus the tie window instead of a scan of all bars.
    let mut by_end: Vec<usize> = (0..bars.len()).collect();
    by_end.sort_by(|&a, &b| {
        bars[a]
            .end
            .total_cmp(&bars[b].end)
            .then(bars[a].start.total_cmp(&bars[b].start))
            .then(a.cmp(&b))
    });
    let Some(&last) = by_end.last() else {
        return Vec::new();
    };

    let mut in_chain = vec![false; bars.len()];
    let mut chain = vec![last];
    in_chain[last] = true;
    let mut cur = last;
    while bars[cur].start > EPS {
        let bound = bars[cur].start + EPS;
        let candidates = by_end.partition_point(|&i| bars[i].end <= bound);
        let Some(best_pos) = (0..candidates).rev().find(|&p| !in_chain[by_end[p]]) else {
            break;
        };
        let best = by_end[best_pos];
        let floor = bars[best].end - EPS;
        let same_component = (0..=best_pos)
            .rev()
            .map(|p| by_end[p])
            .take_while(|&i| bars[i].end >= floor)
            .find(|&i| !in_chain[i] && bars[i].component == bars[cur].component);
        cur = same_component.unwrap_or(best);
        in_chain[cur] = true;
        chain.push(cur);
    }
    chain.reverse();
    chain
}

/// The tick spacing for an axis spanning `span` seconds with at most
/// `max_ticks` intervals: the smallest 1, 2 or 5 × 10^k that fits.
/// Degenerate spans (zero, negative, not finite) get 1 second.
pub fn tick_step(span: f64, max_ticks: usize) -> f64 {
    if !(span.is_finite() && span > 0.0) || max_ticks == 0 {
        return 1.0;
    }
    let raw = span / max_ticks as f64;
    let base = 10f64.powi(raw.log10().floor() as i32);
    // Tolerance so that e.g. span 10 with 10 ticks gives 1, not 2, despite
    // log10/powi rounding.
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|&step| step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * base)
}

/// Escape text for XML content and attribute values. Characters XML 1.0
/// forbids (most C0 controls) become U+FFFD, since names come from user
/// files and a single bad byte would make the whole chart unreadable.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Journal helpers

/// One journal line being decoded, for field access with good errors.
struct Event<'a> {
    obj: &'a serde_json::Map<String, serde_json::Value>,
    line: usize,
}

impl<'a> Event<'a> {
    /// How to name this line in a message: its event, if it has one.
    fn event_name(&self) -> String {
        match self.obj.get("event").and_then(|v| v.as_str()) {
            Some(event) => format!("`{event}`"),
            None => "the line".to_owned(),
        }
    }

    fn bad(&self, problem: String, help: &str) -> GanttError {
        GanttError::BadEvent {
            line: self.line,
            problem,
            help: help.to_owned(),
        }
    }

    fn missing(&self, key: &str, what: &str) -> GanttError {
        let problem = match self.obj.get(key) {
            None => format!("{} lacks the field `{key}`", self.event_name()),
            Some(v) => format!(
                "field `{key}` of {} must be {what}, found {v}",
                self.event_name()
            ),
        };
        self.bad(
            problem,
            "every line has `t` (seconds since the run started) and `event`; \
             `transition_started` also has `component`, `transition`, `behavior` (strings) \
             and `run` (an integer); was the journal written by another version of concerto?",
        )
    }

    fn str_field(&self, key: &str) -> Result<&'a str, GanttError> {
        self.obj
            .get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| self.missing(key, "a string"))
    }

    /// A time in seconds: finite and not negative.
    fn time(&self, key: &str) -> Result<f64, GanttError> {
        self.obj
            .get(key)
            .and_then(|v| v.as_f64())
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| self.missing(key, "a number of seconds ≥ 0"))
    }

    fn run(&self) -> Result<u64, GanttError> {
        self.obj
            .get("run")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| self.missing("run", "a non-negative integer"))
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------
// SVG rendering
//
// Layout, top to bottom: the title (with the makespan), a summary line, the
// legend (wrapping), the time axis labels, then one 14 px row per bar. Left
// to right: the component label band, the transition name column, the plot.
// Rows are grouped by component (components in order of first start, rows
// inside a component by start time); every other group is shaded. Tick
// labels are repeated under the last row since charts can be very tall.

const WIDTH: f64 = 1200.0;
const COMPONENT_X: f64 = 8.0;
const TRANSITION_X: f64 = 184.0;
const PLOT_X: f64 = 340.0;
const PLOT_W: f64 = 820.0;
const ROW_H: f64 = 14.0;
const BAR_H: f64 = 10.0;
const LEGEND_Y: f64 = 52.0;
const LEGEND_LINE_H: f64 = 16.0;
/// Labels longer than this are cut with "…" (the tooltip has the full name).
const COMPONENT_CHARS: usize = 24;
const TRANSITION_CHARS: usize = 23;
/// Rough average advance of an 11 px sans-serif character, for wrapping the
/// legend; no font metrics are available without a renderer.
const CHAR_W: f64 = 6.2;
const MAX_TICKS: usize = 10;

/// Behavior colours (Tableau 10 without its red, which marks the critical
/// path, then three light Tableau 20 tones). Assigned in order of first
/// appearance in the chart, cycling when there are more behaviors.
const PALETTE: [&str; 12] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
    "#bab0ac", "#a0cbe8", "#ffbe7d", "#8cd17d",
];
const CRITICAL_STROKE: &str = "#d62728";
const HATCH_ID: &str = "concerto-gantt-failed";

/// Appends formatted text to a `String`; writing into a `String` cannot fail.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {
        let _ = writeln!($out, $($arg)*);
    };
}

/// A coordinate with at most two decimals and no trailing zeros, to keep
/// big charts small and the output byte-for-byte stable.
struct Px(f64);

impl fmt::Display for Px {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&trim_decimals(format!("{:.2}", self.0)))
    }
}

fn trim_decimals(s: String) -> String {
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    // "-0" from tiny negative rounding errors reads oddly.
    if s == "-0" {
        "0".to_owned()
    } else {
        s
    }
}

/// Seconds for humans: up to millisecond precision, e.g. "2.5 s".
fn fmt_secs(t: f64) -> String {
    format!("{} s", trim_decimals(format!("{t:.3}")))
}

/// A tick label with just the decimals its step needs (step 0.05 -> 2).
fn fmt_tick(t: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{t:.decimals$} s")
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max_chars - 1).collect();
        cut.push('…');
        cut
    }
}

/// `#rrggbb` scaled towards black, for critical bars.
fn darken(hex: &str) -> String {
    let channel = |i: usize| {
        let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
        (f64::from(v) * 0.62).round() as u8
    };
    format!("#{:02x}{:02x}{:02x}", channel(1), channel(3), channel(5))
}

/// Non-finite times (only possible in hand-built timelines) are drawn at 0
/// rather than poisoning the scale.
fn finite(t: f64) -> f64 {
    if t.is_finite() {
        t
    } else {
        0.0
    }
}

/// A component and its rows (indices into `bars`, in display order).
struct Group<'a> {
    component: &'a str,
    rows: Vec<usize>,
}

fn group_rows(bars: &[Bar]) -> Vec<Group<'_>> {
    let mut groups: IndexMap<&str, Vec<usize>> = IndexMap::new();
    for (i, bar) in bars.iter().enumerate() {
        groups.entry(bar.component.as_str()).or_default().push(i);
    }
    let by_time = |a: &usize, b: &usize| {
        finite(bars[*a].start)
            .total_cmp(&finite(bars[*b].start))
            .then(finite(bars[*a].end).total_cmp(&finite(bars[*b].end)))
            .then(a.cmp(b))
    };
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(component, mut rows)| {
            rows.sort_by(by_time);
            Group { component, rows }
        })
        .collect();
    // Stable sort: components starting together keep their order of
    // appearance in `bars`.
    groups.sort_by(|a, b| finite(bars[a.rows[0]].start).total_cmp(&finite(bars[b.rows[0]].start)));
    groups
}

fn render_svg(tl: &Timeline) -> String {
    let bars = &tl.bars;
    let groups = group_rows(bars);
    let n_rows = bars.len();

    // Behavior colours by first appearance in display order.
    let mut colours: IndexMap<&str, &str> = IndexMap::new();
    for g in &groups {
        for &i in &g.rows {
            let next = PALETTE[colours.len() % PALETTE.len()];
            colours.entry(bars[i].behavior.as_str()).or_insert(next);
        }
    }

    let span = bars
        .iter()
        .map(|b| finite(b.end))
        .fold(finite(tl.makespan), f64::max);
    let span = if span > EPS { span } else { 1.0 };
    let x_of = |t: f64| PLOT_X + finite(t).clamp(0.0, span) / span * PLOT_W;

    // Legend items: (swatch markup at a given x,y; label); laid out first so
    // that the height is known before anything is written.
    let mut legend: Vec<(String, String)> = colours
        .iter()
        .map(|(behavior, colour)| (format!("fill=\"{colour}\""), behavior.to_string()))
        .collect();
    if bars.iter().any(|b| b.critical) {
        legend.push((
            format!(
                "fill=\"{}\" stroke=\"{CRITICAL_STROKE}\" stroke-width=\"1.5\"",
                darken("#8a8a8a")
            ),
            "critical path".to_owned(),
        ));
    }
    if bars.iter().any(|b| b.failed) {
        legend.push((
            format!("fill=\"url(#{HATCH_ID})\" stroke=\"#555\" stroke-width=\"0.5\""),
            "failed".to_owned(),
        ));
    }
    let mut legend_pos = Vec::with_capacity(legend.len());
    let (mut lx, mut ly) = (COMPONENT_X, LEGEND_Y);
    for (_, label) in &legend {
        let w = 14.0 + 5.0 + label.chars().count() as f64 * CHAR_W + 16.0;
        if lx > COMPONENT_X && lx + w > WIDTH - 8.0 {
            lx = COMPONENT_X;
            ly += LEGEND_LINE_H;
        }
        legend_pos.push((lx, ly));
        lx += w;
    }
    let legend_bottom = if legend.is_empty() {
        LEGEND_Y
    } else {
        ly + LEGEND_LINE_H
    };
    let axis_label_y = legend_bottom + 12.0;
    let rows_top = legend_bottom + 20.0;
    let rows_bottom = rows_top + n_rows.max(1) as f64 * ROW_H;
    let height = (rows_bottom + 36.0).ceil();

    // ~300 bytes per row, reserved up front since charts can be big.
    let mut out = String::with_capacity(4096 + n_rows * 320);
    let title = if tl.title.is_empty() {
        "Gantt chart"
    } else {
        &tl.title
    };
    let heading = xml_escape(&format!(
        "{title} — makespan {}",
        fmt_secs(finite(tl.makespan))
    ));

    put!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    put!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#,
        w = WIDTH,
        h = height
    );
    put!(out, "<title>{heading}</title>");
    put!(
        out,
        r##"<defs><pattern id="{HATCH_ID}" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="#1a1a1a" stroke-width="2" stroke-opacity="0.6"/></pattern></defs>"##
    );
    put!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    put!(
        out,
        r##"<text x="{}" y="22" font-size="15" font-weight="bold" fill="#111">{heading}</text>"##,
        COMPONENT_X
    );

    let critical: Vec<&Bar> = bars.iter().filter(|b| b.critical).collect();
    let failed = bars.iter().filter(|b| b.failed).count();
    let mut summary = format!(
        "{} transition{} in {} component{}",
        n_rows,
        if n_rows == 1 { "" } else { "s" },
        groups.len(),
        if groups.len() == 1 { "" } else { "s" },
    );
    if !critical.is_empty() {
        let _ = write!(
            summary,
            " · critical path: {} transition{}",
            critical.len(),
            if critical.len() == 1 { "" } else { "s" }
        );
    }
    if failed > 0 {
        let _ = write!(summary, " · {failed} failed");
    }
    put!(
        out,
        r##"<text x="{}" y="40" fill="#555">{summary}</text>"##,
        COMPONENT_X
    );

    for ((swatch, label), (x, y)) in legend.iter().zip(&legend_pos) {
        put!(
            out,
            r##"<rect x="{}" y="{}" width="14" height="{BAR_H}" {swatch}/><text x="{}" y="{}" fill="#333">{}</text>"##,
            Px(*x),
            Px(*y),
            Px(x + 19.0),
            Px(y + 9.0),
            xml_escape(label)
        );
    }

    if bars.is_empty() {
        put!(
            out,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#777" font-style="italic">no transitions</text>"##,
            Px(PLOT_X + PLOT_W / 2.0),
            Px(rows_top + 10.0)
        );
        put!(out, "</svg>");
        return out;
    }

    // Component bands: every other group shaded, a rule above each.
    let mut row = 0usize;
    let mut group_tops = Vec::with_capacity(groups.len());
    for (gi, g) in groups.iter().enumerate() {
        let y = rows_top + row as f64 * ROW_H;
        group_tops.push(y);
        if gi % 2 == 1 {
            put!(
                out,
                r##"<rect x="0" y="{}" width="{WIDTH}" height="{}" fill="#f2f4f7"/>"##,
                Px(y),
                Px(g.rows.len() as f64 * ROW_H)
            );
        }
        row += g.rows.len();
    }

    // Time grid and axis labels (top, and again at the bottom).
    let step = tick_step(span, MAX_TICKS);
    put!(
        out,
        r##"<text x="{}" y="{}" fill="#777">component</text><text x="{}" y="{}" fill="#777">transition</text>"##,
        COMPONENT_X,
        Px(axis_label_y),
        TRANSITION_X,
        Px(axis_label_y)
    );
    let mut k = 0usize;
    loop {
        // Multiply rather than accumulate so ticks do not drift.
        let t = k as f64 * step;
        if t > span * (1.0 + 1e-9) {
            break;
        }
        let x = Px(x_of(t));
        let label = fmt_tick(t, step);
        put!(
            out,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#dde1e6"/><text x="{x}" y="{}" text-anchor="middle" fill="#555">{label}</text><text x="{x}" y="{}" text-anchor="middle" fill="#555">{label}</text>"##,
            Px(rows_top),
            Px(rows_bottom),
            Px(axis_label_y),
            Px(rows_bottom + 12.0)
        );
        k += 1;
    }
    for y in &group_tops {
        put!(
            out,
            r##"<line x1="0" y1="{y}" x2="{WIDTH}" y2="{y}" stroke="#c9ced6"/>"##,
            y = Px(*y)
        );
    }
    put!(
        out,
        r##"<line x1="0" y1="{y}" x2="{WIDTH}" y2="{y}" stroke="#c9ced6"/>"##,
        y = Px(rows_bottom)
    );

    // Rows.
    let mut row = 0usize;
    for (g, top) in groups.iter().zip(&group_tops) {
        put!(
            out,
            r##"<text x="{}" y="{}" font-weight="bold" fill="#222">{}</text>"##,
            COMPONENT_X,
            Px(top + 11.0),
            xml_escape(&truncate(g.component, COMPONENT_CHARS))
        );
        for &i in &g.rows {
            let bar = &bars[i];
            let y = rows_top + row as f64 * ROW_H;
            row += 1;
            let x0 = x_of(bar.start);
            // At least one pixel so instantaneous transitions stay visible.
            let w = (x_of(bar.end) - x0).max(1.0);
            let colour = colours[bar.behavior.as_str()];
            let (fill, stroke) = if bar.critical {
                (
                    darken(colour),
                    format!(r#" stroke="{CRITICAL_STROKE}" stroke-width="1.5""#),
                )
            } else {
                (colour.to_owned(), String::new())
            };
            let mut tip = format!(
                "{}.{} ({}): {}–{} ({})",
                bar.component,
                bar.transition,
                bar.behavior,
                fmt_secs(finite(bar.start)),
                fmt_secs(finite(bar.end)),
                fmt_secs(finite(bar.end) - finite(bar.start))
            );
            if bar.critical {
                tip.push_str(" · critical path");
            }
            if bar.failed {
                tip.push_str(" · FAILED");
            }
            put!(
                out,
                r##"<text x="{TRANSITION_X}" y="{}" fill="#333">{}</text>"##,
                Px(y + 11.0),
                xml_escape(&truncate(&bar.transition, TRANSITION_CHARS))
            );
            let rect = format!(
                r#"x="{}" y="{}" width="{}" height="{BAR_H}""#,
                Px(x0),
                Px(y + (ROW_H - BAR_H) / 2.0),
                Px(w)
            );
            if bar.failed {
                // Group so that the tooltip covers the hatch overlay too.
                put!(
                    out,
                    r#"<g><title>{}</title><rect {rect} fill="{fill}"{stroke}/><rect {rect} fill="url(#{HATCH_ID})"/></g>"#,
                    xml_escape(&tip)
                );
            } else {
                put!(
                    out,
                    r#"<rect {rect} fill="{fill}"{stroke}><title>{}</title></rect>"#,
                    xml_escape(&tip)
                );
            }
        }
    }

    // Makespan on top of everything, labelled under the bottom axis.
    let mx = Px(x_of(tl.makespan));
    put!(
        out,
        r##"<line x1="{mx}" y1="{}" x2="{mx}" y2="{}" stroke="#111" stroke-width="1.2" stroke-dasharray="4 3"/>"##,
        Px(rows_top - 4.0),
        // Stop above the bottom tick labels so they stay legible.
        Px(rows_bottom + 2.0)
    );
    put!(
        out,
        r##"<text x="{mx}" y="{}" text-anchor="end" font-weight="bold" fill="#111">makespan {}</text>"##,
        Px(rows_bottom + 28.0),
        xml_escape(&fmt_secs(finite(tl.makespan)))
    );
    put!(out, "</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bar(component: &str, transition: &str, behavior: &str, start: f64, end: f64) -> Bar {
        Bar {
            component: component.into(),
            transition: transition.into(),
            behavior: behavior.into(),
            start,
            end,
            critical: false,
            failed: false,
        }
    }

    /// 3 components, 2 behaviors, one failed bar; critical path from timing.
    fn small_timeline() -> Timeline {
        let mut bars = vec![
            bar("db", "allocate", "deploy", 0.0, 2.0),
            bar("db", "configure", "deploy", 2.0, 5.5),
            bar("db", "start", "deploy", 5.5, 7.0),
            bar("web & api", "allocate", "deploy", 0.0, 1.5),
            bar("web & api", "install", "deploy", 1.5, 4.0),
            bar("web & api", "start", "deploy", 7.0, 9.0),
            bar("<lb>", "configure", "deploy", 1.0, 3.0),
            bar("<lb>", "reload", "update", 9.0, 10.5),
            bar("<lb>", "check", "update", 9.0, 9.8),
        ];
        bars[8].failed = true;
        let mut tl = Timeline {
            title: "demo \"small\"".into(),
            makespan: 10.5,
            bars,
        };
        tl.mark_critical_from_timing();
        tl
    }

    const SMALL_JOURNAL: &str = r#"{"t":0.0,"event":"run_started","mode":"simulate"}
{"t":0.0,"event":"transition_started","component":"s","transition":"allocate","behavior":"deploy","run":0}
{"t":0.0,"event":"transition_started","component":"c","transition":"allocate","behavior":"deploy","run":1}
{"t":1.0,"event":"transition_ended","component":"c","transition":"allocate","behavior":"deploy","run":1,"ok":true}
{"t":2.5,"event":"transition_ended","component":"s","transition":"allocate","behavior":"deploy","run":0,"ok":true}
{"t":2.5,"event":"place_reached","component":"s","place":"allocated"}
{"t":2.5,"event":"port_enabled","component":"s","port":"ip"}
{"t":2.5,"event":"transition_started","component":"s","transition":"run","behavior":"deploy","run":2}
{"t":2.5,"event":"transition_started","component":"c","transition":"x","behavior":"install","run":3}
{"t":2.6,"event":"something_new","detail":[1,2,3]}

{"t":6.0,"event":"transition_ended","component":"s","transition":"run","behavior":"deploy","run":2,"ok":true}
{"t":6.0,"event":"transition_started","component":"s","transition":"watch","behavior":"deploy","run":4}
{"t":9.0,"event":"transition_ended","component":"c","transition":"x","behavior":"install","run":3,"ok":false,"error":"exit status 1"}
{"t":9.0,"event":"component_failed","component":"c"}
{"t":9.0,"event":"run_finished","makespan":9.0,"ok":false}
"#;

    #[test]
    fn svg_snapshot_small_timeline() {
        let tl = small_timeline();
        let critical: Vec<String> = tl
            .bars
            .iter()
            .filter(|b| b.critical)
            .map(|b| format!("{}.{}", b.component, b.transition))
            .collect();
        assert_eq!(
            critical,
            [
                "db.allocate",
                "db.configure",
                "db.start",
                "web & api.start",
                "<lb>.reload"
            ]
        );
        insta::assert_snapshot!(tl.to_svg());
    }

    #[test]
    fn journal_snapshot() {
        let tl = Timeline::from_journal("small run", SMALL_JOURNAL).unwrap();
        // Interrupted `s.watch` ends at the last t seen and is failed;
        // `c.x` failed with ok=false.
        let watch = tl.bars.iter().find(|b| b.transition == "watch").unwrap();
        assert_eq!((watch.end, watch.failed), (9.0, true));
        insta::assert_snapshot!(tl.to_json());
    }

    #[test]
    fn json_round_trips() {
        let tl = small_timeline();
        let back: Timeline = serde_json::from_str(&tl.to_json()).unwrap();
        assert_eq!(back, tl);
    }

    #[test]
    fn tick_steps_are_1_2_5_times_powers_of_ten() {
        assert_eq!(tick_step(10.0, 10), 1.0);
        assert_eq!(tick_step(9.0, 10), 1.0);
        assert_eq!(tick_step(10.5, 10), 2.0);
        assert_eq!(tick_step(35.0, 10), 5.0);
        assert_eq!(tick_step(95.0, 10), 10.0);
        assert_eq!(tick_step(1500.0, 10), 200.0);
        assert_eq!(tick_step(4000.0, 10), 500.0);
        assert!((tick_step(0.35, 10) - 0.05).abs() < 1e-12);
        assert!((tick_step(0.001, 10) - 0.0001).abs() < 1e-15);
        // Degenerate spans get a usable default.
        assert_eq!(tick_step(0.0, 10), 1.0);
        assert_eq!(tick_step(f64::NAN, 10), 1.0);
        assert_eq!(tick_step(5.0, 0), 1.0);
        assert_eq!(fmt_tick(0.15, 0.05), "0.15 s");
        assert_eq!(fmt_tick(400.0, 200.0), "400 s");
    }

    proptest! {
        #[test]
        fn tick_step_is_smallest_fitting_nice_number(span in 1e-4f64..1e7, max in 1usize..30) {
            let step = tick_step(span, max);
            let k = step.log10().floor();
            let mantissa = step / 10f64.powf(k);
            prop_assert!([1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9), "{step}");
            prop_assert!(span / step <= max as f64 * (1.0 + 1e-9));
        }
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(
            xml_escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(xml_escape("tab\tok\u{1}bad"), "tab\tok\u{FFFD}bad");
        assert_eq!(xml_escape("héllo – ok"), "héllo – ok");

        // User names never reach the SVG unescaped.
        let mut tl = small_timeline();
        tl.bars[0].component = "</text><script>alert(1)</script>".into();
        tl.bars[0].transition = "a&b".into();
        let svg = tl.to_svg();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;/text&gt;&lt;script&gt;"));
        assert!(svg.contains("a&amp;b"));
    }

    #[test]
    fn long_labels_are_truncated_but_tooltips_are_not() {
        let long = "x".repeat(100);
        let tl = Timeline {
            title: String::new(),
            makespan: 1.0,
            bars: vec![bar(&long, &long, "deploy", 0.0, 1.0)],
        };
        let svg = tl.to_svg();
        assert!(svg.contains(&format!("{}…</text>", "x".repeat(COMPONENT_CHARS - 1))));
        assert!(svg.contains(&format!("{long}.{long} (deploy)")));
    }

    #[test]
    fn critical_chain_hand_made() {
        let bars = vec![
            bar("a", "x", "deploy", 0.0, 2.0),       // 0
            bar("b", "y", "deploy", 0.0, 3.0),       // 1
            bar("a", "z", "deploy", 2.0, 5.0000005), // 2: greatest end before c.v...
            bar("c", "w", "deploy", 3.0, 5.0), // 3: ...but c.w ties within 1e-6, same component
            bar("c", "v", "deploy", 5.0000005, 8.0), // 4: ends last
            bar("a", "u", "update", 1.0, 4.0), // 5: overlaps, never a predecessor
            bar("d", "late", "update", 6.0, 7.5), // 6: ends before the end, not on the chain
        ];
        assert_eq!(critical_chain(&bars), vec![1, 3, 4]);

        // Without the same-component tie, the greatest end wins, and the
        // walk goes back through a's own transitions.
        let mut other = bars.clone();
        other[3].component = "e".into();
        assert_eq!(critical_chain(&other), vec![0, 2, 4]);

        // An idle gap still has a predecessor (the last thing that ended);
        // a bar with nothing before it ends the walk even if it starts late.
        let gap = vec![
            bar("a", "x", "deploy", 0.0, 1.0),
            bar("a", "y", "deploy", 3.0, 4.0),
        ];
        assert_eq!(critical_chain(&gap), vec![0, 1]);
        let alone = vec![bar("a", "x", "deploy", 3.0, 4.0)];
        assert_eq!(critical_chain(&alone), vec![0]);
        assert_eq!(critical_chain(&[]), Vec::<usize>::new());

        // Zero-length bars at the same instant do not loop.
        let zeros = vec![
            bar("a", "x", "deploy", 0.0, 2.0),
            bar("a", "y", "deploy", 2.0, 2.0),
            bar("b", "z", "deploy", 2.0, 2.0),
        ];
        assert_eq!(critical_chain(&zeros), vec![0, 1, 2]);
    }

    #[test]
    fn mark_critical_resets_previous_marks() {
        let mut tl = small_timeline();
        tl.bars.iter_mut().for_each(|b| b.critical = true);
        tl.mark_critical_from_timing();
        assert_eq!(tl, small_timeline());
    }

    proptest! {
        #[test]
        fn critical_chain_is_a_timed_chain_ending_last(
            spans in prop::collection::vec((0u8..4, 0u32..100, 0u32..30), 1..40)
        ) {
            let bars: Vec<Bar> = spans
                .iter()
                .map(|&(c, s, d)| bar(&format!("c{c}"), "t", "deploy", s as f64 / 4.0, (s + d) as f64 / 4.0))
                .collect();
            let chain = critical_chain(&bars);
            let last_end = bars.iter().map(|b| b.end).fold(0.0, f64::max);
            prop_assert_eq!(bars[*chain.last().unwrap()].end, last_end);
            for w in chain.windows(2) {
                prop_assert!(bars[w[0]].end <= bars[w[1]].start + EPS);
            }
            let mut seen = chain.clone();
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), chain.len());
        }
    }

    fn journal_error(text: &str) -> String {
        let err = Timeline::from_journal("t", text).unwrap_err();
        assert!(
            miette::Diagnostic::help(&err).is_some(),
            "no help for {err}"
        );
        err.to_string()
    }

    #[test]
    fn bad_journal_lines_are_reported_with_their_line_number() {
        let ok = r#"{"t":0.0,"event":"run_started"}"#;
        let start = r#"{"t":0.5,"event":"transition_started","component":"s","transition":"a","behavior":"deploy","run":0}"#;
        let cases: &[(String, &str)] = &[
            (format!("{ok}\nnot json"), "journal line 2: not JSON"),
            (format!("{ok}\n\n[1,2]"), "journal line 3: expected a JSON object, found an array"),
            (format!("{ok}\n{{\"event\":\"run_started\"}}"), "journal line 2: `run_started` lacks the field `t`"),
            (format!("{ok}\n{{\"t\":-1,\"event\":\"x\"}}"), "journal line 2: field `t` of `x` must be a number of seconds"),
            (format!("{ok}\n{{\"t\":1}}"), "journal line 2: the line lacks the field `event`"),
            (
                format!("{ok}\n{ok}\n{{\"t\":1,\"event\":\"transition_started\",\"component\":\"s\",\"transition\":\"a\",\"run\":0}}"),
                "journal line 3: `transition_started` lacks the field `behavior`",
            ),
            (
                format!("{{\"t\":1,\"event\":\"transition_started\",\"component\":\"s\",\"transition\":\"a\",\"behavior\":\"d\",\"run\":\"0\"}}"),
                "journal line 1: field `run` of `transition_started` must be a non-negative integer, found \"0\"",
            ),
            (format!("{start}\n{start}"), "journal line 2: run 0 started again while still running (started on line 1)"),
            (
                format!("{ok}\n{{\"t\":1,\"event\":\"transition_ended\",\"run\":7,\"ok\":true}}"),
                "journal line 2: `transition_ended` for run 7, which is not running",
            ),
            (
                format!("{start}\n{{\"t\":1,\"event\":\"transition_ended\",\"component\":\"z\",\"run\":0,\"ok\":true}}"),
                "journal line 2: `transition_ended` for run 0 has component \"z\", but run 0 started with component \"s\" on line 1",
            ),
            (
                format!("{start}\n{{\"t\":0.1,\"event\":\"transition_ended\",\"run\":0,\"ok\":true}}"),
                "journal line 2: run 0 ends at t=0.1 before it started",
            ),
            (
                format!("{start}\n{{\"t\":1,\"event\":\"transition_ended\",\"run\":0,\"ok\":\"yes\"}}"),
                "journal line 2: field `ok` must be true or false",
            ),
        ];
        for (text, expected) in cases {
            let msg = journal_error(text);
            assert!(
                msg.starts_with(expected),
                "for {text:?}\n got: {msg}\nwant: {expected}"
            );
        }
    }

    #[test]
    fn empty_timeline_is_a_valid_svg_saying_so() {
        let tl = Timeline::from_journal("nothing", "").unwrap();
        assert_eq!(tl.makespan, 0.0);
        let svg = tl.to_svg();
        assert!(svg.contains("no transitions"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_well_formed_ish(&svg);
    }

    /// Without an XML parser at hand: every `&` starts an entity, and tags
    /// open and close in matching pairs.
    fn assert_well_formed_ish(svg: &str) {
        for (i, _) in svg.match_indices('&') {
            let rest = &svg[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "bare & at {i}"
            );
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if tag.starts_with('?') || tag.ends_with('/') {
                continue;
            }
            let name = tag.split_whitespace().next().unwrap();
            if let Some(name) = name.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    #[test]
    fn small_svg_is_well_formed() {
        assert_well_formed_ish(&small_timeline().to_svg());
    }

    #[test]
    fn ten_thousand_bars_render_linearly() {
        // A deterministic pseudo-random schedule (LCG), 50 components.
        let mut seed = 12345u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let bars: Vec<Bar> = (0..10_000)
            .map(|i| {
                let start = next() * 3000.0;
                bar(
                    &format!("component-{}", i % 50),
                    &format!("t{i}"),
                    ["deploy", "update", "stop"][i % 3],
                    start,
                    start + next() * 60.0,
                )
            })
            .collect();
        let mut tl = Timeline {
            title: "big".into(),
            makespan: bars.iter().map(|b| b.end).fold(0.0, f64::max),
            bars,
        };
        tl.mark_critical_from_timing();
        let svg = tl.to_svg();
        assert_eq!(svg.matches("<title>").count(), 10_001);
        assert!(svg.len() < 10_000 * 400, "{} bytes", svg.len());
        // Rows are 14 px: the chart is as tall as the bars need, no more.
        let height: f64 = svg
            .split("height=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((140_000.0..140_200.0).contains(&height), "{height}");
        assert_well_formed_ish(&svg);
    }
}
