package fsm

import "github.com/onexhost/onex-host/host/internal/jsoncond"

// The roots a pointer may start with: what a condition or a template can see.
var roots = []string{"data", "context", "key", "state", "previous_state", "event_id", "type"}

// checkTemplate checks every placeholder of a template at load.
func checkTemplate(t any) error {
	_, err := jsoncond.Placeholders(t, roots)
	return err
}

// render fills a template from scope (see jsoncond.Render).
func render(t any, scope map[string]any) (any, error) { return jsoncond.Render(t, scope) }
