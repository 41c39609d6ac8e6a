package events

import (
	"fmt"
	"strings"
)

// parsePattern checks a subscription pattern and splits it into segments. The syntax is
// NATS subject syntax, so a NATS backend can pass patterns through unchanged: segments
// are separated by '.', none is empty or holds whitespace, '*' matches exactly one
// segment and '>' matches one or more trailing segments. A wildcard must be a whole
// segment, and '>' only the last one.
func parsePattern(pattern string) ([]string, error) {
	if pattern == "" {
		return nil, fmt.Errorf("%w: empty pattern", ErrInvalidSubscription)
	}
	segs := strings.Split(pattern, ".")
	for i, s := range segs {
		switch {
		case s == "":
			return nil, fmt.Errorf("%w: pattern %q has an empty segment", ErrInvalidSubscription, pattern)
		case strings.ContainsAny(s, " \t\r\n"):
			return nil, fmt.Errorf("%w: pattern %q contains whitespace", ErrInvalidSubscription, pattern)
		case s == ">" && i != len(segs)-1:
			return nil, fmt.Errorf("%w: pattern %q has '>' before its last segment", ErrInvalidSubscription, pattern)
		case s != "*" && s != ">" && strings.ContainsAny(s, "*>"):
			return nil, fmt.Errorf("%w: pattern %q has a wildcard inside a segment", ErrInvalidSubscription, pattern)
		}
	}
	return segs, nil
}

// match reports whether topic matches the parsed pattern segs. It walks topic in place
// and does not allocate: it runs once per subscription on every Publish.
func match(segs []string, topic string) bool {
	for i, s := range segs {
		if s == ">" {
			return topic != "" // one or more segments remain
		}
		seg, tail, more := strings.Cut(topic, ".")
		if seg == "" || (s != "*" && s != seg) {
			return false
		}
		if !more {
			return i == len(segs)-1
		}
		topic = tail
	}
	return false // the topic has more segments than the pattern
}
