// Command effects is the effect node the host's tests drive: its effect "script" performs
// a list of capability steps in order and can fail after any of them, so the tests can
// check what a transaction records, commits, rolls back and publishes.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (plugintest does it).
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// step is one capability call of a script.
type step struct {
	Op      string `json:"op"` // an abi.Op* name, or "sleep"
	Path    string `json:"path,omitempty"`
	To      string `json:"to,omitempty"`
	Key     string `json:"key,omitempty"`
	Value   string `json:"value,omitempty"`
	Topic   string `json:"topic,omitempty"`
	URL     string `json:"url,omitempty"`
	Method  string `json:"method,omitempty"`
	Undo    string `json:"undo,omitempty"` // for tx.compensate: the kv key the compensation deletes
	SleepMS int    `json:"sleep_ms,omitempty"`
}

// script is the effect's input.
type script struct {
	Steps []step `json:"steps"`
	// FailAfter fails the effect once that many steps ran (negative or absent: never),
	// retryable when Retryable is set.
	FailAfter *int `json:"fail_after,omitempty"`
	Retryable bool `json:"retryable,omitempty"`
}

func init() {
	sdk.Describe(abi.Manifest{Name: "effects", Version: "1.0.0", Kind: abi.KindEffect,
		Capabilities: []abi.Capability{abi.CapabilityFS, abi.CapabilityKV, abi.CapabilityHTTP, abi.CapabilityEvents},
		Publishes:    []string{"onex.evt.test.step.v1"}})
	sdk.Effect(abi.Computation{Name: "script", Description: "run capability steps, optionally failing after some"}, run)
	sdk.Compensation("kv_delete", func(_ context.Context, payload []byte) error {
		_, err := sdk.KV.Delete(string(payload))
		return err
	})
}

// result is the effect's output: how many steps ran, and what kv.get and fs.read found
// (absent keys and files are left out).
type result struct {
	Steps int               `json:"steps"`
	Got   map[string]string `json:"got,omitempty"`
}

// run performs the steps and reports what they read.
func run(_ context.Context, s script) (result, error) {
	r := result{Got: map[string]string{}}
	for i, st := range s.Steps {
		if s.FailAfter != nil && i == *s.FailAfter {
			return result{}, failure(s, i)
		}
		if err := perform(st, r.Got); err != nil {
			return result{}, fmt.Errorf("step %d (%s): %w", i, st.Op, err)
		}
		r.Steps++
	}
	if s.FailAfter != nil && *s.FailAfter == len(s.Steps) {
		return result{}, failure(s, len(s.Steps))
	}
	return r, nil
}

func failure(s script, i int) error {
	msg := fmt.Sprintf("told to fail after %d steps", i)
	if s.Retryable {
		return sdk.Retryable("scripted", msg)
	}
	return sdk.NewError("scripted", msg)
}

func perform(st step, got map[string]string) error {
	var err error
	switch st.Op {
	case abi.OpKVGet:
		var v []byte
		var found bool
		if v, found, err = sdk.KV.Get(st.Key); found {
			got[st.Key] = string(v)
		}
	case abi.OpFSRead:
		var b []byte
		if b, err = sdk.FS.Read(st.Path); err == nil {
			got[st.Path] = string(b)
		} else if ce, ok := err.(*sdk.CapabilityError); ok && ce.Status == abi.StatusNotFound {
			err = nil
		}
	case abi.OpFSWrite:
		err = sdk.FS.Write(st.Path, []byte(st.Value))
	case abi.OpFSDelete:
		_, err = sdk.FS.Delete(st.Path)
	case abi.OpFSMove:
		err = sdk.FS.Move(st.Path, st.To)
	case abi.OpFSMkdir:
		err = sdk.FS.Mkdir(st.Path, true)
	case abi.OpKVPut:
		err = sdk.KV.Put(st.Key, []byte(st.Value))
	case abi.OpKVDelete:
		_, err = sdk.KV.Delete(st.Key)
	case abi.OpEventsPublish:
		_, err = sdk.Events.Publish(abi.Event{EventType: "test.step", Topic: st.Topic, Key: st.Key})
	case abi.OpHTTPRequest:
		_, err = sdk.HTTP.Do(abi.HTTPRequest{Method: st.Method, URL: st.URL})
	case abi.OpTxCompensate:
		err = sdk.Compensate("kv_delete", []byte(st.Undo))
	case "sleep":
		time.Sleep(time.Duration(st.SleepMS) * time.Millisecond)
	default:
		err = fmt.Errorf("unknown op %q", st.Op)
	}
	return err
}

func main() {}
