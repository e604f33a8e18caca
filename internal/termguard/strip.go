package termguard

// Strip returns b without any escape sequence (CSI, OSC, DCS, APC, PM,
// SOS, two-byte escapes), C1 control or C0 control but tab, line feed and
// carriage return: a bottle's output as text, for a reader that is no
// terminal (a host model, a page). Unlike Writer it keeps nothing of the
// terminal interface; what it returns is still the bottle's text, to be
// labelled as such.
func Strip(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == esc && i+1 < len(b):
			i = skipEscape(b, i+1)
		case c == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f:
			i = skipC1(b, i+1)
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0x7f, c == esc:
		case c >= 0x80 && c <= 0x9f && len(out) > 0 && out[len(out)-1] == 0xc2:
			// joined to a 0xC2 kept, through what was stripped between: a C1
		default:
			out = append(out, c)
		}
	}
	return out
}

// skipEscape returns the index of the last byte of the escape whose
// introducer (the byte after ESC) is at i.
func skipEscape(b []byte, i int) int {
	switch c := b[i]; {
	case c == '[':
		return skipCSI(b, i+1)
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return skipString(b, i+1)
	case c >= 0x20 && c <= 0x2f:
		for i < len(b) && b[i] >= 0x20 && b[i] <= 0x2f {
			i++
		}
		return min(i, len(b)-1)
	}
	return i
}

// skipC1 is skipEscape for a C1 control written as UTF-8, whose second
// byte is at i.
func skipC1(b []byte, i int) int {
	switch b[i] {
	case 0x9b:
		return skipCSI(b, i+1)
	case 0x9d, 0x90, 0x98, 0x9e, 0x9f:
		return skipString(b, i+1)
	}
	return i
}

// skipCSI returns the index of the final byte of a CSI whose parameters
// start at i (or the last byte of b).
func skipCSI(b []byte, i int) int {
	for ; i < len(b); i++ {
		if b[i] >= 0x40 && b[i] <= 0x7e || b[i] == can || b[i] == sub {
			return i
		}
	}
	return len(b) - 1
}

// skipString returns the index of the last byte of the terminator (BEL,
// ESC \ or the UTF-8 ST) of a string whose body starts at i.
func skipString(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch {
		case b[i] == bel || b[i] == can || b[i] == sub:
			return i
		case b[i] == esc && i+1 < len(b) && b[i+1] == '\\', b[i] == 0xc2 && i+1 < len(b) && b[i+1] == 0x9c:
			return i + 1
		}
	}
	return len(b) - 1
}
