package invocation

// OutputElementCost is what one element of an array output costs the host
// beyond its text, charged against a function's output budget: the host
// makes a message of each element of a JSON array given to an output
// binding such as a queue (an object, an id and a storage request each), so
// a small array of millions of tiny elements must not pass for a small
// output.
const OutputElementCost = 256

// Elements returns the number of elements v holds when it is a JSON array
// (KindJSON whose text is an array), and 0 otherwise: the messages an array
// output becomes beyond one.
func (v *Value) Elements() int {
	if v == nil || v.Kind != KindJSON {
		return 0
	}
	return jsonArrayLen(v.String)
}

// jsonArrayLen counts the elements of the JSON array text (after leading
// white space), in one pass without allocating; 0 when text is not an array.
// text is valid JSON.
func jsonArrayLen(text string) int {
	i := 0
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
		i++
	}
	if i == len(text) || text[i] != '[' {
		return 0
	}
	depth, commas, empty := 0, 0, true
	for ; i < len(text); i++ {
		switch c := text[i]; c {
		case '"':
			empty = false
			for i++; i < len(text) && text[i] != '"'; i++ { // to the closing quote
				if text[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth > 0 {
				empty = false
			}
			depth++
		case ']', '}':
			if depth--; depth == 0 {
				if empty {
					return 0
				}
				return commas + 1
			}
		case ',':
			if depth == 1 {
				commas++
			}
		case ' ', '\t', '\n', '\r':
		default:
			empty = false
		}
	}
	return 0
}
