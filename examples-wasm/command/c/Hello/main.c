// Hello: an HTTP function in command mode (abi/COMMAND.md), as a plain WASI
// command. It reads the custom-handler request JSON on stdin, takes the route
// parameter Data.req.Params.name ("world" when absent, null or empty) and
// prints the response JSON on stdout:
//   {"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"text/plain"},
//    "body":"Hello, <name>"}},"Logs":[],"ReturnValue":null}
// The JSON scanner below is just enough to walk to that one string: it skips
// every other value whole and decodes the string's escapes, and the name is
// escaped again for the output (as Go's encoding/json does).
// Build: ../../build.sh c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	const char *p, *end;
} cursor;

enum { END_OF_STRING = -1, BAD_JSON = -2 };

static void skip_space(cursor *c) {
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int at(const cursor *c, char want) { return c->p < c->end && *c->p == want; }

// hex4 reads the four hex digits of a \u escape; -1 if they are not.
static long hex4(cursor *c) {
	long v = 0;
	if (c->end - c->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = (unsigned char)*c->p++, d;
		if (h >= '0' && h <= '9')
			d = h - '0';
		else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
			d = (h | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

// next_char returns the next code point of a string whose opening quote has
// been read, END_OF_STRING after its closing quote, or BAD_JSON.
static long next_char(cursor *c) {
	if (c->p >= c->end)
		return BAD_JSON;
	unsigned char b = (unsigned char)*c->p++;
	if (b == '"')
		return END_OF_STRING;
	if (b < 0x20)
		return BAD_JSON;
	if (b >= 0x80) { // UTF-8 sequence (the worker sends valid UTF-8)
		int more = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
		long cp = b & (0x3F >> more);
		for (; more > 0 && c->p < c->end; more--)
			cp = cp << 6 | (*c->p++ & 0x3F);
		return cp;
	}
	if (b != '\\')
		return b;
	if (c->p >= c->end)
		return BAD_JSON;
	switch (*c->p++) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'u': {
		long u = hex4(c);
		if (u < 0)
			return BAD_JSON;
		if (u >= 0xD800 && u < 0xDC00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
			cursor low = {c->p + 2, c->end};
			long v = hex4(&low);
			if (v >= 0xDC00 && v < 0xE000) {
				*c = low;
				return 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
			}
		}
		if (u >= 0xD800 && u < 0xE000)
			return 0xFFFD; // a lone surrogate, replaced as encoding/json does
		return u;
	}
	default:
		return BAD_JSON;
	}
}

// skip_value moves past one JSON value; 0 if the input is malformed.
static int skip_value(cursor *c) {
	skip_space(c);
	if (c->p >= c->end)
		return 0;
	if (*c->p == '"') {
		long ch;
		c->p++;
		while ((ch = next_char(c)) >= 0)
			;
		return ch == END_OF_STRING;
	}
	if (*c->p == '{' || *c->p == '[') {
		int depth = 0;
		while (c->p < c->end) {
			char b = *c->p;
			if (b == '"') {
				if (!skip_value(c))
					return 0;
				continue;
			}
			c->p++;
			if (b == '{' || b == '[')
				depth++;
			else if ((b == '}' || b == ']') && --depth == 0)
				return 1;
		}
		return 0;
	}
	// number, true, false or null
	while (c->p < c->end && !strchr(",}] \t\r\n", *c->p))
		c->p++;
	return 1;
}

// member moves c from an object to the value of its member key; 0 if the
// value at c is not an object or has no such member.
static int member(cursor *c, const char *key) {
	skip_space(c);
	if (!at(c, '{'))
		return 0;
	c->p++;
	for (;;) {
		skip_space(c);
		if (!at(c, '"'))
			return 0; // '}' (no such member) or malformed
		c->p++;
		const char *k = key;
		int same = 1;
		long ch;
		while ((ch = next_char(c)) >= 0) {
			if (same && *k && (unsigned char)*k == ch)
				k++;
			else
				same = 0;
		}
		if (ch != END_OF_STRING)
			return 0;
		skip_space(c);
		if (!at(c, ':'))
			return 0;
		c->p++;
		if (same && !*k) {
			skip_space(c);
			return 1;
		}
		if (!skip_value(c))
			return 0;
		skip_space(c);
		if (!at(c, ','))
			return 0;
		c->p++;
	}
}

static void put_utf8(long cp) {
	if (cp < 0x80) {
		putchar((int)cp);
	} else if (cp < 0x800) {
		putchar((int)(0xC0 | cp >> 6));
		putchar((int)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		putchar((int)(0xE0 | cp >> 12));
		putchar((int)(0x80 | (cp >> 6 & 0x3F)));
		putchar((int)(0x80 | (cp & 0x3F)));
	} else {
		putchar((int)(0xF0 | cp >> 18));
		putchar((int)(0x80 | (cp >> 12 & 0x3F)));
		putchar((int)(0x80 | (cp >> 6 & 0x3F)));
		putchar((int)(0x80 | (cp & 0x3F)));
	}
}

// put_escaped writes one code point inside a JSON string.
static void put_escaped(long cp) {
	switch (cp) {
	case '"': fputs("\\\"", stdout); return;
	case '\\': fputs("\\\\", stdout); return;
	case '\b': fputs("\\b", stdout); return;
	case '\f': fputs("\\f", stdout); return;
	case '\n': fputs("\\n", stdout); return;
	case '\r': fputs("\\r", stdout); return;
	case '\t': fputs("\\t", stdout); return;
	}
	if (cp < 0x20 || cp == 0x2028 || cp == 0x2029)
		printf("\\u%04lx", cp);
	else
		put_utf8(cp);
}

int main(void) {
	size_t len = 0, cap = 4096;
	char *in = malloc(cap);
	for (;;) {
		if (!in) {
			fputs("Hello: out of memory\n", stderr);
			return 1;
		}
		ssize_t n = read(0, in + len, cap - len);
		if (n < 0) {
			perror("Hello: reading stdin");
			return 1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap)
			in = realloc(in, cap *= 2);
	}

	// Walk to Data.req.Params.name; use it if it is a non-empty string.
	cursor c = {in, in + len};
	int found = member(&c, "Data") && member(&c, "req") && member(&c, "Params") &&
		    member(&c, "name") && at(&c, '"');
	if (found) {
		cursor check = {c.p + 1, c.end};
		long ch, count = 0;
		while ((ch = next_char(&check)) >= 0)
			count++;
		found = ch == END_OF_STRING && count > 0;
	}

	fputs("{\"Outputs\":{\"res\":{\"statusCode\":200,\"headers\":{\"Content-Type\":\"text/plain\"},"
	      "\"body\":\"Hello, ",
	      stdout);
	if (found) {
		long ch;
		c.p++;
		while ((ch = next_char(&c)) >= 0)
			put_escaped(ch);
	} else {
		fputs("world", stdout);
	}
	fputs("\"}},\"Logs\":[],\"ReturnValue\":null}\n", stdout);
	free(in);
	return fflush(stdout) == 0 ? 0 : 1;
}
