// Hello: an HTTP function in command mode (abi/COMMAND.md), as a plain WASI
// command with Rust's std only. It reads the custom-handler request JSON on
// stdin, takes the route parameter Data.req.Params.name ("world" when absent,
// null or empty) and prints the response JSON on stdout:
//   {"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},
//    "body":"Hello, <name>"}},"Logs":[],"ReturnValue":null}
// No JSON crate is at hand, so a small scanner walks to that one string,
// skipping every other value whole; the name is decoded and escaped again
// for the output (as Go's encoding/json does).
// Build: ../../build.sh rust
use std::io::{self, Read, Write};

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn space(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn at(&self, b: u8) -> bool {
        self.s.get(self.i) == Some(&b)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + 4)?;
        let mut v = 0;
        for &d in digits {
            v = v << 4 | (d as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// Decodes the rest of a string whose opening quote has been read, up to
    /// and including its closing quote; None if it is malformed.
    fn string(&mut self) -> Option<String> {
        let mut out = String::new();
        loop {
            let b = *self.s.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => return Some(out),
                0..=0x1f => return None,
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    out.push(c);
                }
                _ => {
                    // Copy the run of plain bytes up to the next quote or escape.
                    let start = self.i - 1;
                    while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\' | 0..=0x1f) {
                        self.i += 1;
                    }
                    out.push_str(&String::from_utf8_lossy(&self.s[start..self.i]));
                }
            }
        }
    }

    /// The code point of a \u escape (after the "\u"), joining a surrogate
    /// pair; a lone surrogate becomes U+FFFD, as encoding/json does.
    fn unicode_escape(&mut self) -> Option<char> {
        let u = self.hex4()?;
        if (0xD800..0xDC00).contains(&u) && self.s.get(self.i..self.i + 2) == Some(b"\\u") {
            let save = self.i;
            self.i += 2;
            match self.hex4() {
                Some(v) if (0xDC00..0xE000).contains(&v) => {
                    return char::from_u32(0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
                }
                _ => self.i = save,
            }
        }
        Some(char::from_u32(u).unwrap_or('\u{FFFD}'))
    }

    /// Moves past one value; None if the input is malformed.
    fn skip_value(&mut self) -> Option<()> {
        self.space();
        match *self.s.get(self.i)? {
            b'"' => {
                self.i += 1;
                self.string().map(|_| ())
            }
            b'{' | b'[' => {
                let mut depth = 0;
                while let Some(&b) = self.s.get(self.i) {
                    if b == b'"' {
                        self.skip_value()?;
                        continue;
                    }
                    self.i += 1;
                    match b {
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                }
                None
            }
            _ => {
                // number, true, false or null
                while self.i < self.s.len() && !matches!(self.s[self.i], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    self.i += 1;
                }
                Some(())
            }
        }
    }

    /// Moves from an object to the value of its member key; None if the
    /// value here is not an object or has no such member.
    fn member(&mut self, key: &str) -> Option<()> {
        self.space();
        if !self.at(b'{') {
            return None;
        }
        self.i += 1;
        loop {
            self.space();
            if !self.at(b'"') {
                return None; // '}' (no such member) or malformed
            }
            self.i += 1;
            let k = self.string()?;
            self.space();
            if !self.at(b':') {
                return None;
            }
            self.i += 1;
            if k == key {
                self.space();
                return Some(());
            }
            self.skip_value()?;
            self.space();
            if !self.at(b',') {
                return None;
            }
            self.i += 1;
        }
    }
}

/// The route parameter Data.req.Params.name, if it is a string.
fn route_name(input: &[u8]) -> Option<String> {
    let mut sc = Scanner { s: input, i: 0 };
    for key in ["Data", "req", "Params", "name"] {
        sc.member(key)?;
    }
    if !sc.at(b'"') {
        return None;
    }
    sc.i += 1;
    sc.string()
}

/// Appends s to out as the inside of a JSON string.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0'..='\u{1f}' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            _ => out.push(c),
        }
    }
}

fn main() {
    let mut input = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut input) {
        eprintln!("Hello: reading stdin: {}", e);
        std::process::exit(1);
    }
    let name = route_name(&input).filter(|n| !n.is_empty()).unwrap_or_else(|| "world".to_string());

    let mut out = String::from(
        "{\"Outputs\":{\"res\":{\"statusCode\":200,\"headers\":{\"Content-Type\":\"text/plain\"},\"body\":\"Hello, ",
    );
    escape_into(&mut out, &name);
    out.push_str("\"}},\"Logs\":[],\"ReturnValue\":null}\n");
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush()) {
        eprintln!("Hello: writing stdout: {}", e);
        std::process::exit(1);
    }
}
