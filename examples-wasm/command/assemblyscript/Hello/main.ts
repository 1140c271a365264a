// Hello: an HTTP function in command mode (abi/COMMAND.md), as a plain WASI
// command built with @assemblyscript/wasi-shim. It reads the custom-handler
// request JSON on stdin, takes the route parameter Data.req.Params.name
// ("world" when absent, null or empty) and prints the response JSON on stdout:
//   {"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},
//    "body":"Hello, <name>"}},"Logs":[],"ReturnValue":null}
// AssemblyScript's std has no JSON, so a small scanner walks to that one
// string, skipping every other value whole; the name is decoded and escaped
// again for the output (as Go's encoding/json does).
// Build: ../../build.sh assemblyscript (uses ./asconfig.json)

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

class Scanner {
  i: i32 = 0;
  constructor(public s: string) {}

  space(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.i++;
    }
  }

  at(c: i32): bool {
    return this.i < this.s.length && this.s.charCodeAt(this.i) == c;
  }

  // The four hex digits of a \u escape, or -1.
  hex4(): i32 {
    if (this.i + 4 > this.s.length) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const h = this.s.charCodeAt(this.i + k);
      const l = h | 0x20;
      let d: i32;
      if (h >= 0x30 && h <= 0x39) d = h - 0x30;
      else if (l >= 0x61 && l <= 0x66) d = l - 0x61 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    this.i += 4;
    return v;
  }

  // Decodes the rest of a string whose opening quote has been read, up to and
  // including its closing quote; null if it is malformed.
  str(): string | null {
    const s = this.s;
    const n = s.length;
    let out = "";
    while (true) {
      const start = this.i;
      while (this.i < n) {
        const c = s.charCodeAt(this.i);
        if (c == QUOTE || c == BACKSLASH || c < 0x20) break;
        this.i++;
      }
      out += s.substring(start, this.i);
      if (this.i >= n) return null;
      const c = s.charCodeAt(this.i++);
      if (c == QUOTE) return out;
      if (c != BACKSLASH || this.i >= n) return null; // raw control character
      const e = s.charCodeAt(this.i++);
      if (e == QUOTE || e == BACKSLASH || e == 0x2f) out += String.fromCharCode(e);
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x75) {
        const u = this.hex4();
        if (u < 0) return null;
        out += this.unicode(u);
      } else return null;
    }
    return null; // not reached
  }

  // The text of a \u escape with value u, joining a surrogate pair; a lone
  // surrogate becomes U+FFFD, as encoding/json does.
  unicode(u: i32): string {
    if (u >= 0xd800 && u < 0xdc00 && this.at(BACKSLASH) && this.i + 1 < this.s.length && this.s.charCodeAt(this.i + 1) == 0x75) {
      const save = this.i;
      this.i += 2;
      const v = this.hex4();
      if (v >= 0xdc00 && v < 0xe000) return String.fromCharCode(u, v);
      this.i = save;
    }
    if (u >= 0xd800 && u < 0xe000) return "\uFFFD";
    return String.fromCharCode(u);
  }

  // Moves past one value; false if the input is malformed.
  skipValue(): bool {
    this.space();
    if (this.i >= this.s.length) return false;
    const c = this.s.charCodeAt(this.i);
    if (c == QUOTE) {
      this.i++;
      return this.str() !== null;
    }
    if (c == 0x7b || c == 0x5b) { // { [
      let depth = 0;
      while (this.i < this.s.length) {
        const b = this.s.charCodeAt(this.i);
        if (b == QUOTE) {
          if (!this.skipValue()) return false;
          continue;
        }
        this.i++;
        if (b == 0x7b || b == 0x5b) depth++;
        else if ((b == 0x7d || b == 0x5d) && --depth == 0) return true;
      }
      return false;
    }
    // number, true, false or null
    while (this.i < this.s.length) {
      const b = this.s.charCodeAt(this.i);
      if (b == 0x2c || b == 0x7d || b == 0x5d || b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d) break;
      this.i++;
    }
    return true;
  }

  // Moves from an object to the value of its member key; false if the value
  // here is not an object or has no such member.
  member(key: string): bool {
    this.space();
    if (!this.at(0x7b)) return false;
    this.i++;
    while (true) {
      this.space();
      if (!this.at(QUOTE)) return false; // '}' (no such member) or malformed
      this.i++;
      const k = this.str();
      if (k === null) return false;
      this.space();
      if (!this.at(0x3a)) return false; // :
      this.i++;
      if (k == key) {
        this.space();
        return true;
      }
      if (!this.skipValue()) return false;
      this.space();
      if (!this.at(0x2c)) return false; // ,
      this.i++;
    }
  }
}

// routeName returns Data.req.Params.name if it is a string, else null.
function routeName(input: string): string | null {
  const sc = new Scanner(input);
  if (!sc.member("Data") || !sc.member("req") || !sc.member("Params") || !sc.member("name")) return null;
  if (!sc.at(QUOTE)) return null;
  sc.i++;
  return sc.str();
}

// escape returns s as the inside of a JSON string.
function escape(s: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let e = "";
    if (c == QUOTE) e = '\\"';
    else if (c == BACKSLASH) e = "\\\\";
    else if (c == 0x08) e = "\\b";
    else if (c == 0x0c) e = "\\f";
    else if (c == 0x0a) e = "\\n";
    else if (c == 0x0d) e = "\\r";
    else if (c == 0x09) e = "\\t";
    else if (c < 0x20 || c == 0x2028 || c == 0x2029) e = "\\u" + c.toString(16).padStart(4, "0");
    else continue;
    out += s.substring(start, i) + e;
    start = i + 1;
  }
  return out + s.substring(start);
}

function readStdin(): string {
  let buf = new ArrayBuffer(4096);
  let len = 0;
  while (true) {
    if (len == buf.byteLength) {
      const bigger = new ArrayBuffer(len * 2);
      memory.copy(changetype<usize>(bigger), changetype<usize>(buf), <usize>len);
      buf = bigger;
    }
    const n = process.stdin.read(buf, len);
    if (n <= 0) break;
    len += n;
  }
  return String.UTF8.decodeUnsafe(changetype<usize>(buf), <usize>len);
}

function main(): void {
  const found = routeName(readStdin());
  let name = "world";
  if (found !== null && found.length > 0) name = found;
  process.stdout.write(
    '{"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"Hello, ' +
      escape(name) +
      '"}},"Logs":[],"ReturnValue":null}\n',
  );
}

main();
