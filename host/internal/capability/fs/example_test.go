package fs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onexhost/onex-host/host/internal/capability/fs"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// An effect attempt writes a report and archives the old one, then fails:
// the rollback puts both files back as they were.
func Example() {
	base, err := os.MkdirTemp("", "fs-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(base)
	data := filepath.Join(base, "data") // the operator granted data read-write
	if err := os.Mkdir(data, 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(data, "report.txt"), []byte("v1"), 0o644); err != nil {
		panic(err)
	}

	roots, err := fs.New(fs.Config{Grants: []fs.Grant{{Dir: data}}})
	if err != nil {
		panic(err)
	}
	defer roots.Close()
	m, err := tx.New(tx.Config{Compensators: fs.Compensators()})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	t, err := m.Begin("reporter", 1, "")
	if err != nil {
		panic(err)
	}
	attempt := func() error {
		if err := roots.Mkdir(t, "archive", false); err != nil {
			return err
		}
		if err := roots.Copy(t, "report.txt", "archive/report-v1.txt"); err != nil {
			return err
		}
		if err := roots.Write(t, data+"/report.txt", []byte("v2"), 0); err != nil {
			return err
		}
		return errors.New("upload failed")
	}
	if err := attempt(); err != nil {
		fmt.Println("attempt:", err)
		res, err := t.Rollback(ctx)
		fmt.Println("rollback:", res.State, len(res.RollbackOperations), "operations, error:", err)
	}

	report, _ := roots.Read("report.txt", 0)
	list, _ := roots.List(".")
	fmt.Printf("report.txt: %s, entries: %d\n", report, len(list))

	_, err = roots.Read("../etc/passwd", 0)
	fmt.Println(errors.Is(err, fs.ErrEscape))
	// Output:
	// attempt: upload failed
	// rollback: rolled_back 3 operations, error: <nil>
	// report.txt: v1, entries: 1
	// true
}
