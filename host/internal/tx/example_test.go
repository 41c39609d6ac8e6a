package tx_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// An effect attempt writes two files, holds an event, and fails at its third
// step: the files are restored newest first and the event is never
// published.
func Example() {
	files := map[string]string{"/srv/a": "old a"} // stands in for a file system

	restore := tx.CompensatorFunc(func(_ context.Context, op tx.Operation) error {
		if op.Compensation.Existed {
			files[op.Target] = string(op.Compensation.Previous)
		} else {
			delete(files, op.Target)
		}
		fmt.Println("restored", op.Target)
		return nil
	})
	m, err := tx.New(tx.Config{
		Compensators: map[string]tx.Compensator{tx.KindFSWrite: restore},
		Publish: func(_ context.Context, e abi.Event) error {
			fmt.Println("published", e.EventType)
			return nil
		},
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	t, err := m.Begin("file_writer", 1, "")
	if err != nil {
		panic(err)
	}
	defer t.Rollback(ctx) // does nothing after a Commit

	write := func(path, content string) error {
		prev, existed := files[path]
		op := tx.Operation{
			Kind:         tx.KindFSWrite,
			Service:      "fs:/srv",
			Target:       path,
			Compensation: &tx.Compensation{Existed: existed, Previous: []byte(prev)},
		}
		return t.Apply(op, func() error { files[path] = content; return nil })
	}

	steps := []func() error{
		func() error { return write("/srv/a", "new a") },
		func() error { return write("/srv/b", "new b") },
		func() error { return t.Hold(abi.Event{EventType: "file.written", Topic: "onex.evt.fs.written.v1"}) },
		func() error { return errors.New("disk full") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			fmt.Println("step failed:", err)
			break
		}
	}
	res, err := t.Rollback(ctx)
	fmt.Println(res.State, res.SideEffectsApplied, err)
	for _, op := range res.RollbackOperations {
		fmt.Println(op.Seq, op.Target, op.Outcome)
	}
	fmt.Println(files, m.Stats().RolledBack)
	// Output:
	// step failed: disk full
	// restored /srv/b
	// restored /srv/a
	// rolled_back 2 <nil>
	// 2 /srv/b compensated
	// 1 /srv/a compensated
	// map[/srv/a:old a] 1
}

// A committed transaction publishes its outbox, in order, after the commit.
func ExampleTx_Commit() {
	m, err := tx.New(tx.Config{
		Publish: func(_ context.Context, e abi.Event) error {
			fmt.Println("published", e.Key)
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	t, err := m.Begin("notifier", 1, "")
	if err != nil {
		panic(err)
	}
	for _, key := range []string{"first", "second"} {
		if err := t.Hold(abi.Event{EventType: "user.notified", Topic: "onex.evt.user.notified.v1", Key: key}); err != nil {
			panic(err)
		}
	}
	fmt.Println("held", t.State())
	res, err := t.Commit(context.Background())
	fmt.Println(res.State, err)
	_, err = t.Commit(context.Background())
	fmt.Println(errors.Is(err, tx.ErrCommitted))
	// Output:
	// held active
	// published first
	// published second
	// committed <nil>
	// true
}
