package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// quarantined is /readyz's body while a node is quarantined: the error, the nodes, and
// the calls that got stuck in them.
type quarantined struct {
	Error      errorBody   `json:"error"`
	Nodes      []string    `json:"quarantined"`
	StuckCalls []stuckCall `json:"stuck_calls"`
}

// stuckCall is a host.StuckCall as /readyz shows it.
type stuckCall struct {
	Node      string     `json:"node"`
	Digest    string     `json:"digest"`
	Operation string     `json:"operation"`
	Deadline  time.Time  `json:"deadline"`
	Ended     *time.Time `json:"ended,omitempty"` // it ended after all
}

// quarantine returns /readyz's body when a loaded node is quarantined or a call is stuck
// in any version of one (a reload swaps in a new version, which is not quarantined, but
// does not end a call stuck in the old one), else nil. The process should be restarted:
// the host cannot end a stuck call, and a quarantined node fails every call.
func (s *Server) quarantine() *quarantined {
	names := map[string]bool{}
	for name, n := range *s.nodes.Load() {
		if n.plugin != nil && n.plugin.Quarantined() {
			names[name] = true
		}
	}
	calls := s.host.StuckCalls()
	for _, c := range calls {
		if c.Ended.IsZero() {
			names[c.Plugin] = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	q := &quarantined{Nodes: slices.Sorted(maps.Keys(names)), StuckCalls: []stuckCall{}}
	for _, c := range calls {
		if names[c.Plugin] {
			sc := stuckCall{Node: c.Plugin, Digest: c.Digest, Operation: c.Operation, Deadline: c.Deadline}
			if !c.Ended.IsZero() {
				sc.Ended = &c.Ended
			}
			q.StuckCalls = append(q.StuckCalls, sc)
		}
	}
	which := "node " + q.Nodes[0] + " is"
	if len(q.Nodes) > 1 {
		which = "nodes " + strings.Join(q.Nodes, ", ") + " are"
	}
	q.Error = errorBody{Code: codeQuarantined, Message: fmt.Sprintf("%s quarantined: a call ran past its deadline "+
		"and did not stop, which the host cannot end; every call of a quarantined node fails; restart the process", which)}
	return q
}
