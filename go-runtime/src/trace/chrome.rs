//! A recording as a Chrome trace-event file (JSON), which Perfetto
//! (ui.perfetto.dev) and `chrome://tracing` open.
//!
//! Two processes in the file:
//! - **pid 1, "Ps"**: a track per worker (`tid` = its index). A slice per
//!   goroutine run (`G<id>`, category `run`, args: goroutine, spawn site,
//!   how it ended), `idle` slices while the worker's thread is parked, and
//!   instant events for steals and sysmon's actions (hand-off, stall report,
//!   preemption request) and deadlock checks. Flow arrows go from the
//!   waker's slice to the start of the woken goroutine's next run (category
//!   `wake`), and from the creator's slice to a new goroutine's first run
//!   (`spawn`).
//! - **pid 2, "goroutines"**: a track per goroutine (`tid` = its id, named
//!   with its spawn site and creator) with its states as slices: `running on P<n>`, `runnable`, and, while
//!   blocked, the wait reason (`chan receive`, `sync.Mutex.Lock`, `sleep`,
//!   ...; Go's names).
//!
//! Timestamps are microseconds from the start of the recording.

use std::collections::HashMap;
use std::io::{self, Write};
use std::panic::Location;

use super::{Event, Kind, NO_WORKER, Stop};

/// What the file knows of a goroutine while converting.
struct G {
    /// Where it was spawned (`None`: before the recording).
    site: Option<&'static Location<'static>>,
    /// The same as a JSON string, made once.
    site_json: String,
    /// The goroutine that spawned it, if one did during the recording.
    parent: Option<u64>,
    /// What it is doing, and since when.
    state: State,
    since: u64,
    /// The arrow (id, kind) that made it runnable, until it runs.
    flow: Option<(u64, &'static str)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Runnable,
    Running(u32),
    Blocked(u8),
    Done,
}

/// Writes the events (sorted by time; `begin` and `end` in the same
/// nanoseconds) as a Chrome trace-event file. `reason` names a wait reason
/// from its byte.
pub(crate) fn write(
    out: &mut impl Write,
    events: &[Event],
    begin: u64,
    end: u64,
    reason: fn(u8) -> &'static str,
) -> io::Result<()> {
    let mut w = Writer { out, first: true, begin };
    w.out.write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")?;
    w.meta(1, None, "process_name", "Ps (workers)")?;
    w.meta(2, None, "process_name", "goroutines")?;
    let mut gs: HashMap<u64, G> = HashMap::new();
    // Per worker: the goroutine it runs and since when; idle since when.
    let mut running: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut idle: HashMap<u32, u64> = HashMap::new();
    let mut workers: Vec<u32> = Vec::new();
    for (index, e) in events.iter().enumerate() {
        if e.worker != NO_WORKER && !workers.contains(&e.worker) {
            workers.push(e.worker);
        }
        match e.kind {
            Kind::Create => {
                let site = if e.arg == 0 {
                    None
                } else {
                    // SAFETY: `arg` is the address of a `&'static Location`
                    // (the spawn site recorded at `Create`), which lives for
                    // ever.
                    Some(unsafe { &*(e.arg as *const Location<'static>) })
                };
                gs.insert(e.g, G::new(e.ts, site));
            }
            Kind::CreatedBy => {
                // An arrow from the creator's run, if it is on a worker.
                already_running(&mut gs, &mut running, e.arg, e.worker, begin);
                let by = gs.get(&e.arg).map(|p| p.state);
                let Some(g) = gs.get_mut(&e.g) else { continue };
                g.parent = Some(e.arg);
                if let Some(State::Running(p)) = by {
                    w.flow('s', "spawn", index as u64, p, e.ts)?;
                    g.flow = Some((index as u64, "spawn"));
                }
            }
            Kind::Start => {
                let g = gs.entry(e.g).or_insert_with(|| G::unknown(e.ts));
                w.close_state(e.g, g, e.ts, reason)?;
                if let Some((id, kind)) = g.flow.take() {
                    w.flow('f', kind, id, e.worker, e.ts)?;
                }
                g.state = State::Running(e.worker);
                g.since = e.ts;
                if let Some(since) = idle.remove(&e.worker) {
                    w.idle(e.worker, since, e.ts)?;
                }
                running.insert(e.worker, (e.g, e.ts));
            }
            Kind::Stop => {
                // A goroutine that stops before any other event about it ran
                // since before the recording.
                already_running(&mut gs, &mut running, e.g, e.worker, begin);
                let g = gs.entry(e.g).or_insert_with(|| G::unknown(e.ts));
                let (next, then, why) = match e.arg {
                    x if x == Stop::Park as u64 => {
                        (State::Blocked(e.reason), "parked: ", reason(e.reason))
                    }
                    x if x == Stop::Finish as u64 => (State::Done, "finished", ""),
                    _ => (State::Runnable, "yielded", ""),
                };
                if let Some((rg, since)) = running.remove(&e.worker) {
                    debug_assert_eq!(rg, e.g, "a worker stops the goroutine it runs");
                    w.run(e.worker, e.g, g.site_json(), since, e.ts, format_args!("{then}{why}"))?;
                }
                w.close_state(e.g, g, e.ts, reason)?;
                g.state = next;
                g.since = e.ts;
            }
            Kind::Unpark => {
                let g = gs.entry(e.g).or_insert_with(|| G::unknown(e.ts));
                w.close_state(e.g, g, e.ts, reason)?;
                g.state = State::Runnable;
                g.since = e.ts;
                // An arrow from the waker's run, if a goroutine woke it.
                already_running(&mut gs, &mut running, e.arg, e.worker, begin);
                let waker = gs.get(&e.arg).map(|b| b.state);
                // The arrow's id: this event's place in the recording.
                if let Some(State::Running(by)) = waker {
                    w.flow('s', "wake", index as u64, by, e.ts)?;
                    gs.get_mut(&e.g).expect("inserted above").flow = Some((index as u64, "wake"));
                }
            }
            Kind::Idle => {
                idle.insert(e.worker, e.ts);
            }
            Kind::Wake => {
                if let Some(since) = idle.remove(&e.worker) {
                    w.idle(e.worker, since, e.ts)?;
                }
            }
            Kind::Steal => {
                let from = if e.arg == u64::MAX {
                    "the global queue".into()
                } else {
                    format!("P{}", e.arg)
                };
                w.instant(1, e.worker, &format!("steal G{} from {from}", e.g), "steal", e.ts)?;
            }
            Kind::Handoff => {
                w.instant(1, e.arg as u32, "sysmon: hand-off", "sysmon", e.ts)?;
            }
            Kind::Stall => {
                let name = format!("sysmon: G{} blocks its worker", e.g);
                w.instant(1, e.arg as u32, &name, "sysmon", e.ts)?;
            }
            Kind::Preempt => {
                w.instant(1, e.arg as u32, "sysmon: asked to switch", "sysmon", e.ts)?;
            }
            Kind::DeadlockCheck => {
                let tid = if e.worker == NO_WORKER { 0 } else { e.worker };
                w.instant(1, tid, "deadlock check", "deadlock", e.ts)?;
            }
        }
    }
    // Close what is still open at the end of the recording.
    let mut open: Vec<_> = running.into_iter().collect();
    open.sort_unstable();
    for (worker, (g, since)) in open {
        let site = gs.get(&g).map_or_else(|| json_str("?"), |g| g.site_json().to_owned());
        w.run(worker, g, &site, since, end, format_args!("still running"))?;
    }
    for (worker, since) in idle {
        w.idle(worker, since, end)?;
    }
    let mut ids: Vec<u64> = gs.keys().copied().collect();
    ids.sort_unstable();
    for id in &ids {
        let g = gs.get_mut(id).expect("listed");
        w.close_state(*id, g, end, reason)?;
        let name = match g.parent {
            Some(p) => format!("G{id} {} (created by G{p})", g.site_text()),
            None => format!("G{id} {}", g.site_text()),
        };
        w.meta(2, Some(*id), "thread_name", &name)?;
    }
    workers.sort_unstable();
    for p in workers {
        w.meta(1, Some(p as u64), "thread_name", &format!("P{p}"))?;
    }
    w.out.write_all(b"\n]}\n")
}

/// `actor` (a goroutine, or 0) recorded an event on `worker`: if it is not
/// known yet, it has been running there since before the recording began.
fn already_running(
    gs: &mut HashMap<u64, G>,
    running: &mut HashMap<u32, (u64, u64)>,
    actor: u64,
    worker: u32,
    begin: u64,
) {
    if actor == 0 || worker == NO_WORKER || gs.contains_key(&actor) || running.contains_key(&worker)
    {
        return;
    }
    let mut g = G::unknown(begin);
    g.state = State::Running(worker);
    gs.insert(actor, g);
    running.insert(worker, (actor, begin));
}

impl G {
    /// A goroutine first seen after it was created (before the recording).
    fn unknown(ts: u64) -> G {
        G::new(ts, None)
    }

    /// A goroutine created at `ts` at `site`, runnable.
    fn new(ts: u64, site: Option<&'static Location<'static>>) -> G {
        let mut g = G {
            site,
            site_json: String::new(),
            parent: None,
            state: State::Runnable,
            since: ts,
            flow: None,
        };
        g.site_json = json_str(&g.site_text());
        g
    }

    fn site_text(&self) -> String {
        self.site.map_or_else(|| "(created before the trace)".to_owned(), |l| l.to_string())
    }

    /// The spawn site as a JSON string.
    fn site_json(&self) -> &str {
        &self.site_json
    }
}

/// Quotes `s` as a JSON string.
fn json_str(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

struct Writer<'a, W: Write> {
    out: &'a mut W,
    first: bool,
    begin: u64,
}

/// No arguments, for [`Writer::slice`].
const NO_ARGS: std::fmt::Arguments<'static> = format_args!("");

/// Microseconds from `begin` to `ts`, with three decimals.
struct Us(u64);

impl std::fmt::Display for Us {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

impl<W: Write> Writer<'_, W> {
    /// Microseconds from the recording's start.
    fn us(&self, ts: u64) -> Us {
        Us(ts.saturating_sub(self.begin))
    }

    /// Goroutine `g`'s run on `worker` (`site`: its spawn site as JSON;
    /// `then`: how it ended, no escaping needed).
    fn run(
        &mut self,
        worker: u32,
        g: u64,
        site: &str,
        from: u64,
        to: u64,
        then: std::fmt::Arguments<'_>,
    ) -> io::Result<()> {
        let args = format_args!("\"goroutine\":{g},\"site\":{site},\"then\":\"{then}\"");
        self.slice(1, worker as u64, format_args!("G{g}"), "run", from, to, args)
    }

    /// `worker`'s thread parked with nothing to run.
    fn idle(&mut self, worker: u32, from: u64, to: u64) -> io::Result<()> {
        self.slice(1, worker as u64, format_args!("idle"), "idle", from, to, NO_ARGS)
    }

    /// Starts the next event's object (after a separator).
    fn open(&mut self) -> io::Result<()> {
        if !std::mem::take(&mut self.first) {
            self.out.write_all(b",\n")?;
        }
        Ok(())
    }

    fn meta(&mut self, pid: u32, tid: Option<u64>, what: &str, name: &str) -> io::Result<()> {
        self.open()?;
        write!(self.out, "{{\"ph\":\"M\",\"pid\":{pid}")?;
        if let Some(t) = tid {
            write!(self.out, ",\"tid\":{t}")?;
        }
        write!(self.out, ",\"name\":\"{what}\",\"args\":{{\"name\":{}}}}}", json_str(name))
    }

    /// A complete slice. `name` and `args` are written as they are: the
    /// callers' names need no escaping, and `args` is JSON members.
    #[expect(clippy::too_many_arguments, reason = "one JSON object's fields")]
    fn slice(
        &mut self,
        pid: u32,
        tid: u64,
        name: std::fmt::Arguments<'_>,
        cat: &str,
        from: u64,
        to: u64,
        args: std::fmt::Arguments<'_>,
    ) -> io::Result<()> {
        self.open()?;
        let (ts, dur) = (self.us(from), Us(to.saturating_sub(from)));
        write!(
            self.out,
            "{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"name\":\"{name}\",\"cat\":\"{cat}\",\
             \"ts\":{ts},\"dur\":{dur},\"args\":{{{args}}}}}"
        )
    }

    fn instant(&mut self, pid: u32, tid: u32, name: &str, cat: &str, at: u64) -> io::Result<()> {
        self.open()?;
        let (ts, name) = (self.us(at), json_str(name));
        write!(
            self.out,
            "{{\"ph\":\"i\",\"s\":\"t\",\"pid\":{pid},\"tid\":{tid},\"name\":{name},\
             \"cat\":\"{cat}\",\"ts\":{ts}}}"
        )
    }

    /// One end of an arrow of `kind` (`wake`, `spawn`): `s` at the waker
    /// or creator, `f` at the goroutine's next start (bound to the slice
    /// that begins there).
    fn flow(&mut self, ph: char, kind: &str, id: u64, worker: u32, at: u64) -> io::Result<()> {
        self.open()?;
        let ts = self.us(at);
        let bind = if ph == 'f' { ",\"bp\":\"e\"" } else { "" };
        write!(
            self.out,
            "{{\"ph\":\"{ph}\",\"id\":{id},\"pid\":1,\"tid\":{worker},\"name\":\"{kind}\",\
             \"cat\":\"{kind}\",\"ts\":{ts}{bind}}}"
        )
    }

    /// Ends goroutine `id`'s current state slice at `at` on its track.
    fn close_state(
        &mut self,
        id: u64,
        g: &G,
        at: u64,
        reason: fn(u8) -> &'static str,
    ) -> io::Result<()> {
        if g.state == State::Done || (at <= g.since && !matches!(g.state, State::Running(_))) {
            return Ok(());
        }
        let (from, args) = (g.since, NO_ARGS);
        match g.state {
            State::Running(p) => {
                self.slice(2, id, format_args!("running on P{p}"), "running", from, at, args)
            }
            // Wait reasons are Go's status words: no character needs escaping.
            State::Blocked(r) => {
                self.slice(2, id, format_args!("{}", reason(r)), "blocked", from, at, args)
            }
            _ => self.slice(2, id, format_args!("runnable"), "runnable", from, at, args),
        }
    }
}
