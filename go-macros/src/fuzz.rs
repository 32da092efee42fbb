//! Property test: every macro, fed random token streams, mutations and
//! truncations of valid inputs, returns tokens (an expansion or a compile
//! error) and never panics. A deterministic xorshift generator keeps runs
//! reproducible; the seed of a failure is in the panic message.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// A macro under test: its name and its expansion function.
type Expander = (&'static str, fn(TokenStream, TokenStream) -> TokenStream);

fn macros() -> Vec<Expander> {
    vec![
        ("go", |_, i| crate::go::expand(i)),
        ("select", |_, i| crate::select::expand(i)),
        ("defer", |_, i| crate::defer::expand(i)),
        ("make", |_, i| crate::make::expand(i)),
        ("waitgroup", |_, i| crate::waitgroup::expand(i)),
        ("goroutine", crate::goroutine::expand),
        ("main", |a, i| crate::entry::expand(crate::entry::Kind::Main, a, i)),
        ("test", |a, i| crate::entry::expand(crate::entry::Kind::Test, a, i)),
    ]
}

/// Valid inputs of each macro, to mutate and truncate.
const VALID: &[(&str, &str)] = &[
    ("go", "worker(i, &wg)"),
    ("go", "s.serve(conn, &ctx)"),
    ("go", "{ println!(\"hi\"); }"),
    ("go", "move || tx.send(1)"),
    ("go", "(move |x: u32| x * 2)(21)"),
    (
        "select",
        "case v := <-ch => v, case v, ok := <-c2 => { ok } case out <- 1 => 0, default => 2,",
    ),
    ("select", "case <-time::after(d) => {}, case v = <-ch => {}"),
    ("select", ""),
    ("defer", "wg.done()"),
    ("defer", "let x = 1; println!(\"{x}\");"),
    ("make", "chan i32, 4"),
    ("make", "chan struct{}"),
    ("waitgroup", "for i in 0..3 { go worker(i, &data); } go { x.fetch_add(1); }; 5"),
    ("waitgroup", "go f(); go { go g(); };"),
    ("goroutine", "fn worker(id: u32, wg: &WaitGroup) { wg.done(); }"),
    ("goroutine", "fn serve(self: Arc<Self>, n: u64) -> u64 { n }"),
    ("main", "fn main() { println!(\"hi\"); }"),
    ("test", "fn t() -> Result<(), E> { Ok(()) }"),
];

const ATTRS: &[&str] =
    &["", "gomaxprocs = 2", "gomaxprocs = 0", "threads", "gomaxprocs = 1, gomaxprocs = 2"];

/// xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "go", "case", "default", "chan", "struct", "move", "async", "let", "mut", "fn", "self", "v",
    "ok", "ch", "x", "f", "wg", "COUNTER", "_", "unsafe", "for", "in", "if", "return", "Self",
];
const PUNCTS: &[char] = &['<', '-', ':', '=', '>', ',', ';', '&', '|', '!', '.', '*', '+', '#'];

fn random_tree(rng: &mut Rng, depth: u32) -> TokenTree {
    match rng.below(if depth > 3 { 3 } else { 4 }) {
        0 => TokenTree::Ident(Ident::new(WORDS[rng.below(WORDS.len())], Span::call_site())),
        1 => {
            let spacing = if rng.below(2) == 0 { Spacing::Alone } else { Spacing::Joint };
            TokenTree::Punct(Punct::new(PUNCTS[rng.below(PUNCTS.len())], spacing))
        }
        2 => match rng.below(3) {
            0 => TokenTree::Literal(Literal::u32_unsuffixed(rng.below(100) as u32)),
            1 => TokenTree::Literal(Literal::string("{x} {y:?}")),
            _ => TokenTree::Literal(Literal::i64_suffixed(-3)),
        },
        _ => {
            let delim =
                [Delimiter::Parenthesis, Delimiter::Brace, Delimiter::Bracket, Delimiter::None]
                    [rng.below(4)];
            TokenTree::Group(Group::new(delim, random_stream(rng, depth + 1)))
        }
    }
}

fn random_stream(rng: &mut Rng, depth: u32) -> TokenStream {
    let n = rng.below(8);
    (0..n).map(|_| random_tree(rng, depth)).collect()
}

/// A random edit of `tts`: delete, duplicate, swap or insert a token.
fn mutate(rng: &mut Rng, tts: &mut Vec<TokenTree>) {
    if tts.is_empty() {
        tts.push(random_tree(rng, 2));
        return;
    }
    let i = rng.below(tts.len());
    match rng.below(4) {
        0 => {
            tts.remove(i);
        }
        1 => tts.insert(i, tts[i].clone()),
        2 => {
            let j = rng.below(tts.len());
            tts.swap(i, j);
        }
        _ => tts.insert(i, random_tree(rng, 2)),
    }
}

/// Runs `f` on `input`, failing with the input if it panics.
fn must_not_panic(
    name: &str,
    f: fn(TokenStream, TokenStream) -> TokenStream,
    attr: &TokenStream,
    input: TokenStream,
) {
    let shown = input.to_string();
    let attr = attr.clone();
    let r = catch_unwind(AssertUnwindSafe(move || f(attr, input)));
    assert!(r.is_ok(), "{name}! panicked on input: {shown}");
}

#[test]
fn random_streams_never_panic() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for (name, f) in macros() {
        for round in 0..5000 {
            let attr = TokenStream::from_str(ATTRS[round % ATTRS.len()]).unwrap();
            must_not_panic(name, f, &attr, random_stream(&mut rng, 0));
        }
    }
}

#[test]
fn mutated_and_truncated_valid_inputs_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (name, f) in macros() {
        for (_, text) in VALID.iter().filter(|(n, _)| *n == name) {
            let tts: Vec<TokenTree> = TokenStream::from_str(text).unwrap().into_iter().collect();
            let attr = TokenStream::from_str(ATTRS[rng.below(ATTRS.len())]).unwrap();
            // Every truncation, at the top level.
            for len in 0..=tts.len() {
                must_not_panic(name, f, &attr, tts[..len].iter().cloned().collect());
            }
            // Random edits, one to five at a time.
            for _ in 0..400 {
                let mut m = tts.clone();
                for _ in 0..=rng.below(5) {
                    mutate(&mut rng, &mut m);
                }
                must_not_panic(name, f, &attr, m.into_iter().collect());
            }
        }
    }
}

#[test]
fn valid_inputs_expand_without_errors() {
    for (name, f) in macros() {
        for (_, text) in VALID.iter().filter(|(n, _)| *n == name) {
            let out = f(TokenStream::new(), TokenStream::from_str(text).unwrap()).to_string();
            assert!(!out.contains("compile_error"), "{name}!({text}) reported an error: {out}");
        }
    }
}
