//! The runtime's structure, checked: every module of `go-runtime/src`
//! imports only from modules of a lower rank in the layer table of
//! `docs/design.md` ("Layers"), and every atomic ordering stronger than
//! `Relaxed` in library code names the operation it pairs with.
//!
//! Both read the source as text. Comments, string literals and the
//! `#[cfg(test)]` module at the end of a file are not looked at: unit tests
//! may use the whole crate.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file, line by line, with comments and the contents of
/// string literals blanked out and the trailing `#[cfg(test)]` module cut.
fn code_lines(text: &str) -> Vec<String> {
    let text = match text.find("\n#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    let (mut in_str, mut block) = (false, 0usize);
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied().unwrap_or(0);
        if block > 0 {
            if c == b'*' && next == b'/' {
                block -= 1;
                i += 2;
                continue;
            }
            if c == b'/' && next == b'*' {
                block += 1;
                i += 2;
                continue;
            }
            out.push(if c == b'\n' { '\n' } else { ' ' });
        } else if in_str {
            if c == b'\\' {
                out.push_str("  ");
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
                out.push('"');
            } else {
                out.push(if c == b'\n' { '\n' } else { ' ' });
            }
        } else if c == b'/' && next == b'/' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if c == b'/' && next == b'*' {
            block = 1;
            i += 2;
            continue;
        } else if c == b'\'' && next == b'"' && b.get(i + 2) == Some(&b'\'') {
            out.push_str("' '");
            i += 3;
            continue;
        } else if c == b'"' {
            in_str = true;
            out.push('"');
        } else {
            out.push(c as char);
        }
        i += 1;
    }
    out.split('\n').map(str::to_owned).collect()
}

/// The layer table of `docs/design.md`: module name -> rank.
fn layer_table() -> BTreeMap<String, u32> {
    let design =
        fs::read_to_string(Path::new(ROOT).join("docs/design.md")).expect("docs/design.md");
    let section =
        design.split("\n## Layers").nth(1).expect("docs/design.md has a \"## Layers\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut table = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let Ok(rank) = cells[0].parse::<u32>() else { continue };
        for m in cells[2].split(',') {
            let m = m.trim().trim_matches('`');
            assert!(table.insert(m.to_owned(), rank).is_none(), "module `{m}` listed twice");
        }
    }
    assert!(table.len() > 5, "the layer table in docs/design.md was not found or is empty");
    table
}

/// `go-runtime/src/chan/select.rs` -> `["chan", "select"]`; `lib.rs` -> `["lib"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("file below src");
    let mut parts: Vec<String> =
        rel.iter().map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") && parts.len() > 1 {
        parts.pop();
    }
    parts
}

/// The identifiers a path starting at `rest` names first: `x::...` -> `[x]`,
/// `{a, b::c}` -> `[a, b]`.
fn first_idents(rest: &str) -> Vec<String> {
    let ident =
        |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut names = Vec::new();
        let mut at_item = true;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => at_item = true,
                c if at_item && depth == 0 && !c.is_whitespace() => {
                    at_item = false;
                    let name = ident(&inner[i..]);
                    if !name.is_empty() && name != "self" {
                        names.push(name);
                    }
                }
                _ => {}
            }
        }
        return names;
    }
    let name = ident(rest);
    if name.is_empty() { Vec::new() } else { vec![name] }
}

/// Every crate-level module that `line` refers to from module `at`: paths
/// through `crate::` and `super::` chains that leave `at`'s top module.
fn referenced_modules(line: &str, at: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = line.as_bytes();
    for (i, _) in line.match_indices("crate::") {
        if i > 0
            && (bytes[i - 1] == b'$'
                || bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_')
        {
            continue;
        }
        found.extend(first_idents(&line[i + "crate::".len()..]));
    }
    for (i, _) in line.match_indices("super::") {
        if i >= 7 && &line[i - 7..i] == "super::" {
            continue; // counted from the first `super::` of the chain
        }
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            continue;
        }
        let mut rest = &line[i..];
        let mut up = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            up += 1;
            rest = r;
        }
        // `at` is the module the code is in; going up `up` levels from it.
        if up >= at.len() {
            found.extend(first_idents(rest));
        }
    }
    found
}

#[test]
fn runtime_modules_import_only_from_lower_layers() {
    let table = layer_table();
    let src = Path::new(ROOT).join("go-runtime/src");
    let mut problems = Vec::new();
    let mut graph: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for file in rust_files(&src) {
        let path = module_path(&src, &file);
        let top = path[0].clone();
        let Some(&rank) = table.get(&top) else {
            problems.push(format!(
                "{}: module `{top}` is not in the layer table of docs/design.md",
                file.display()
            ));
            continue;
        };
        // Code in `foo/mod.rs` or `foo.rs` is module `foo`; in `foo/bar.rs`,
        // module `foo::bar`.
        let text = fs::read_to_string(&file).expect("source file");
        for (n, line) in code_lines(&text).iter().enumerate() {
            for target in referenced_modules(line, &path) {
                if target == top {
                    continue;
                }
                *graph.entry(top.clone()).or_default().entry(target.clone()).or_default() += 1;
                match table.get(&target) {
                    Some(&r) if r < rank => {}
                    Some(&r) => problems.push(format!(
                        "{}:{}: `{top}` (rank {rank}) uses `{target}` (rank {r}), which is not below it: {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    )),
                    None => problems.push(format!(
                        "{}:{}: `{top}` uses `crate::{target}`, which is no module of the layer table \
                         (name the module that defines it): {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    )),
                }
            }
        }
    }
    let edges: Vec<String> = graph
        .iter()
        .map(|(m, to)| format!("{m} -> {}", to.keys().cloned().collect::<Vec<_>>().join(", ")))
        .collect();
    assert!(
        problems.is_empty(),
        "imports against the layering (docs/design.md, \"Layers\"):\n{}\n\nmodule graph:\n{}",
        problems.join("\n"),
        edges.join("\n")
    );
}

#[test]
fn every_strong_ordering_names_its_partner() {
    const WINDOW: usize = 8;
    let mut problems = Vec::new();
    for dir in ["go-runtime/src", "src"] {
        for file in rust_files(&Path::new(ROOT).join(dir)) {
            let text = fs::read_to_string(&file).expect("source file");
            let raw: Vec<&str> = text.lines().collect();
            let code = code_lines(&text);
            for (n, line) in code.iter().enumerate() {
                let strong = [
                    "Ordering::Acquire",
                    "Ordering::Release",
                    "Ordering::AcqRel",
                    "Ordering::SeqCst",
                ]
                .iter()
                .any(|o| line.contains(o))
                    || line.contains("fence(");
                if !strong {
                    continue;
                }
                let from = n.saturating_sub(WINDOW);
                let named = raw[from..=n].iter().any(|l| {
                    let l = l.to_lowercase();
                    l.contains("pairs with") || l.contains("pair with")
                });
                if !named {
                    problems.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} orderings stronger than Relaxed name no partner (say \"pairs with ...\" in a comment \
         at most {WINDOW} lines above):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
