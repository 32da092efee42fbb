//! Draws a scheduling trace (`GOTRACE=trace.json`, or
//! `go::runtime::trace::start`) as an SVG timeline and prints a summary,
//! without a browser:
//!
//! ```text
//! GOTRACE=trace.json cargo run --example worker_pool
//! cargo run --example trace_view -- trace.json trace.svg
//! ```
//!
//! The picture has a lane per worker (P): each goroutine's runs in its own
//! colour, idle time in grey, sysmon's actions as red ticks, a time axis and
//! a legend of the goroutines that ran longest. Each pixel column shows the
//! goroutine that ran longest in it, so a trace of millions of switches
//! still makes a small file. The summary gives each worker's utilisation
//! and, per goroutine, its time running, runnable, and blocked by reason.
//! (Perfetto, ui.perfetto.dev, opens the same file with every event.)

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Drawing width of the timeline, in pixels.
const WIDTH: usize = 1000;
/// Left margin (lane labels).
const LEFT: usize = 60;
const LANE: usize = 26;
const GAP: usize = 6;
const TOP: usize = 44;

/// One slice of the trace.
struct Slice {
    pid: u64,
    tid: u64,
    name: String,
    cat: String,
    ts: f64,
    dur: f64,
}

/// What the file holds, read back.
struct Trace {
    slices: Vec<Slice>,
    /// Instant events on worker lanes: (worker, ts, name).
    instants: Vec<(u64, f64, String)>,
    /// Track names: (pid, tid) -> name.
    names: HashMap<(u64, u64), String>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: trace_view <trace.json> <out.svg>");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(input).unwrap_or_else(|e| {
        eprintln!("trace_view: {input}: {e}");
        std::process::exit(1);
    });
    let trace = parse(&text).unwrap_or_else(|e| {
        eprintln!("trace_view: {input}: {e}");
        std::process::exit(1);
    });
    std::fs::write(output, svg(&trace)).unwrap_or_else(|e| {
        eprintln!("trace_view: {output}: {e}");
        std::process::exit(1);
    });
    print!("{}", summary(&trace));
    println!("wrote {output}");
}

fn parse(text: &str) -> Result<Trace, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let events = v.get("traceEvents").and_then(Value::as_array).ok_or("no traceEvents array")?;
    let mut t = Trace { slices: Vec::new(), instants: Vec::new(), names: HashMap::new() };
    for e in events {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let n = |k: &str| e.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let u = |k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
        match s("ph").as_str() {
            "X" => t.slices.push(Slice {
                pid: u("pid"),
                tid: u("tid"),
                name: s("name"),
                cat: s("cat"),
                ts: n("ts"),
                dur: n("dur"),
            }),
            "i" if u("pid") == 1 => t.instants.push((u("tid"), n("ts"), s("name"))),
            "M" if s("name") == "thread_name" => {
                let name = e.pointer("/args/name").and_then(Value::as_str).unwrap_or("");
                t.names.insert((u("pid"), u("tid")), name.to_owned());
            }
            _ => {}
        }
    }
    Ok(t)
}

/// Ten colours told apart easily (Tableau 10), for the goroutines that ran
/// longest; the rest get muted hues.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// Goroutine `g`'s colour; `rank` is its place among the longest-running.
fn colour(g: u64, rank: Option<usize>) -> String {
    match rank {
        Some(r) if r < PALETTE.len() => PALETTE[r].to_owned(),
        _ => {
            let hue = (g.wrapping_mul(2_654_435_761) % 360) as f64;
            format!("hsl({hue:.0},30%,70%)")
        }
    }
}

/// A round step for about `n` ticks over `span` microseconds.
fn tick_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(1e-3);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag)
}

fn fmt_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The goroutine a worker-lane slice ran (`G12` -> 12).
fn goroutine_of(s: &Slice) -> Option<u64> {
    s.name.strip_prefix('G')?.parse().ok()
}

fn svg(t: &Trace) -> String {
    let lanes: Vec<u64> = {
        let mut l: Vec<u64> = t.slices.iter().filter(|s| s.pid == 1).map(|s| s.tid).collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    let t0 = t.slices.iter().map(|s| s.ts).fold(f64::INFINITY, f64::min);
    let t1 = t.slices.iter().map(|s| s.ts + s.dur).fold(0.0, f64::max);
    let (t0, span) = if t0.is_finite() && t1 > t0 { (t0, t1 - t0) } else { (0.0, 1.0) };
    let x_of = |ts: f64| (ts - t0) / span * WIDTH as f64;

    // Per lane and pixel column: time run per goroutine, and idle time.
    let mut run_time: HashMap<u64, f64> = HashMap::new();
    let mut bins: Vec<Vec<HashMap<u64, f64>>> = vec![vec![HashMap::new(); WIDTH]; lanes.len()];
    let mut idle: Vec<Vec<f64>> = vec![vec![0.0; WIDTH]; lanes.len()];
    for s in t.slices.iter().filter(|s| s.pid == 1) {
        let lane = lanes.binary_search(&s.tid).expect("listed");
        let g = if s.cat == "run" { goroutine_of(s) } else { None };
        if let Some(g) = g {
            *run_time.entry(g).or_default() += s.dur;
        }
        let (a, b) = (x_of(s.ts), x_of(s.ts + s.dur));
        let first = (a.floor() as usize).min(WIDTH - 1);
        let last = ((b.ceil() as usize).max(first + 1)).min(WIDTH);
        for (px, bin) in bins[lane].iter_mut().enumerate().take(last).skip(first) {
            let cover = (b.min(px as f64 + 1.0) - a.max(px as f64)).max(0.0) * span / WIDTH as f64;
            let cover = if cover == 0.0 { s.dur.min(1e-3) } else { cover };
            match g {
                Some(g) => *bin.entry(g).or_default() += cover,
                None if s.cat == "idle" => idle[lane][px] += cover,
                None => {}
            }
        }
    }
    let mut top: Vec<(u64, f64)> = run_time.into_iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let rank: HashMap<u64, usize> = top.iter().enumerate().map(|(i, (g, _))| (*g, i)).collect();

    let lanes_h = lanes.len() * (LANE + GAP);
    let legend_rows = top.len().min(PALETTE.len()) + 2;
    let height = TOP + lanes_h + 40 + legend_rows * 18 + 10;
    let width = LEFT + WIDTH + 20;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(o, "<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
    let _ = writeln!(
        o,
        "<text x=\"{LEFT}\" y=\"22\" font-size=\"15\">goroutines on workers (Ps): {} over {}</text>",
        lanes.len(),
        fmt_us(span)
    );
    for (lane, worker) in lanes.iter().enumerate() {
        let y = TOP + lane * (LANE + GAP);
        let label = t.names.get(&(1, *worker)).cloned().unwrap_or_else(|| format!("P{worker}"));
        let _ = writeln!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LEFT - 8,
            y + LANE / 2 + 4,
            escape(&label)
        );
        let _ = writeln!(
            o,
            "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{WIDTH}\" height=\"{LANE}\" fill=\"#fafafa\" \
             stroke=\"#ddd\"/>"
        );
        // Runs of pixel columns with the same dominant goroutine.
        let dominant: Vec<Option<u64>> = bins[lane]
            .iter()
            .map(|b| b.iter().max_by(|x, y| x.1.total_cmp(y.1).then(y.0.cmp(x.0))).map(|(g, _)| *g))
            .collect();
        let mut px = 0;
        while px < WIDTH {
            let here = dominant[px];
            let start = px;
            while px < WIDTH && dominant[px] == here && (here.is_some() || idle[lane][px] > 0.0) {
                px += 1;
            }
            if px == start {
                px += 1;
                continue;
            }
            let x = LEFT + start;
            let w = px - start;
            match here {
                Some(g) => {
                    let name = t.names.get(&(2, g)).cloned().unwrap_or_else(|| format!("G{g}"));
                    let _ = writeln!(
                        o,
                        "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{LANE}\" fill=\"{}\">\
                         <title>{}</title></rect>",
                        colour(g, rank.get(&g).copied()),
                        escape(&name)
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"#d0d0d0\">\
                         <title>idle</title></rect>",
                        y + LANE / 3,
                        LANE / 3
                    );
                }
            }
        }
        for (_, ts, name) in
            t.instants.iter().filter(|i| i.0 == *worker && i.2.starts_with("sysmon"))
        {
            let x = LEFT as f64 + x_of(*ts);
            let _ = writeln!(
                o,
                "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#d00\" stroke-width=\"2\">\
                 <title>{}</title></line>",
                y.saturating_sub(3),
                y + 5,
                escape(name)
            );
        }
    }
    // The time axis.
    let axis_y = TOP + lanes_h + 4;
    let _ = writeln!(
        o,
        "<line x1=\"{LEFT}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"#333\"/>",
        LEFT + WIDTH
    );
    let step = tick_step(span, 8.0);
    let mut tick = 0.0;
    while tick <= span + 1e-9 {
        let x = LEFT as f64 + tick / span * WIDTH as f64;
        let _ = writeln!(
            o,
            "<line x1=\"{x:.1}\" y1=\"{axis_y}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#333\"/>\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            axis_y + 5,
            axis_y + 18,
            fmt_us(tick)
        );
        tick += step;
    }
    // The legend.
    let mut ly = axis_y + 40;
    let _ = writeln!(
        o,
        "<text x=\"{LEFT}\" y=\"{ly}\" font-weight=\"bold\">longest-running goroutines</text>"
    );
    for (i, (g, us)) in top.iter().take(PALETTE.len()).enumerate() {
        ly += 18;
        let name = t.names.get(&(2, *g)).cloned().unwrap_or_else(|| format!("G{g}"));
        let _ = writeln!(
            o,
            "<rect x=\"{LEFT}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{ly}\">{} ({} running)</text>",
            ly - 10,
            colour(*g, Some(i)),
            LEFT + 18,
            escape(&name),
            fmt_us(*us)
        );
    }
    ly += 18;
    let _ = writeln!(
        o,
        "<rect x=\"{LEFT}\" y=\"{}\" width=\"12\" height=\"5\" fill=\"#d0d0d0\"/>\
         <text x=\"{}\" y=\"{ly}\">idle (thread parked)</text>\
         <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{ly}\" stroke=\"#d00\" stroke-width=\"2\"/>\
         <text x=\"{}\" y=\"{ly}\">sysmon (hand-off, stall, preemption request)</text>",
        ly - 7,
        LEFT + 18,
        LEFT + 210,
        ly - 10,
        LEFT + 210,
        LEFT + 218
    );
    o.push_str("</svg>\n");
    o
}

fn summary(t: &Trace) -> String {
    let mut o = String::new();
    let t0 = t.slices.iter().map(|s| s.ts).fold(f64::INFINITY, f64::min);
    let t1 = t.slices.iter().map(|s| s.ts + s.dur).fold(0.0, f64::max);
    let span = if t0.is_finite() { (t1 - t0).max(1e-3) } else { 1e-3 };
    let _ = writeln!(o, "trace: {} slices over {}", t.slices.len(), fmt_us(span));
    // Workers: every lane, also one that never ran a goroutine.
    let mut busy: HashMap<u64, (f64, usize)> = HashMap::new();
    for s in t.slices.iter().filter(|s| s.pid == 1) {
        let b = busy.entry(s.tid).or_default();
        if s.cat == "run" {
            b.0 += s.dur;
            b.1 += 1;
        }
    }
    for (pid, tid) in t.names.keys() {
        if *pid == 1 {
            busy.entry(*tid).or_default();
        }
    }
    let mut ws: Vec<_> = busy.into_iter().collect();
    ws.sort_unstable_by_key(|w| w.0);
    for (w, (us, runs)) in ws {
        let _ = writeln!(
            o,
            "P{w}: {:5.1}% busy, {runs} goroutine runs, {} running",
            100.0 * us / span,
            fmt_us(us)
        );
    }
    // Goroutines: time per state (their tracks' slices).
    let mut gs: HashMap<u64, HashMap<String, f64>> = HashMap::new();
    for s in t.slices.iter().filter(|s| s.pid == 2) {
        let key = match s.cat.as_str() {
            "running" => "running".to_owned(),
            "runnable" => "runnable".to_owned(),
            _ => format!("blocked: {}", s.name),
        };
        *gs.entry(s.tid).or_default().entry(key).or_default() += s.dur;
    }
    let mut rows: Vec<(u64, HashMap<String, f64>)> = gs.into_iter().collect();
    let run = |m: &HashMap<String, f64>| m.get("running").copied().unwrap_or(0.0);
    rows.sort_by(|a, b| run(&b.1).total_cmp(&run(&a.1)).then(a.0.cmp(&b.0)));
    let _ = writeln!(o, "{} goroutines (longest-running first):", rows.len());
    for (g, m) in rows.iter().take(20) {
        let name = t.names.get(&(2, *g)).cloned().unwrap_or_else(|| format!("G{g}"));
        let mut parts: Vec<(&String, &f64)> = m.iter().collect();
        parts.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
        let parts: Vec<String> =
            parts.iter().map(|(k, v)| format!("{k} {}", fmt_us(**v))).collect();
        let _ = writeln!(o, "  {name}: {}", parts.join(", "));
    }
    if rows.len() > 20 {
        let _ = writeln!(o, "  ... and {} more", rows.len() - 20);
    }
    o
}
