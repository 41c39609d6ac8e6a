package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// TestWithCode: a Runner's error given a code with WithCode is recorded as the step
// error's code (what contracts read at /steps/<id>/error/code), through Permanent on
// either side; an error without one records none.
func TestWithCode(t *testing.T) {
	t.Parallel()
	assert.NoError(t, WithCode(nil, "x"))
	plain := errors.New("plain")
	assert.Same(t, plain, WithCode(plain, ""))
	for name, err := range map[string]error{
		"coded":             WithCode(errors.New("card declined"), "card_declined"),
		"permanent outside": Permanent(WithCode(errors.New("card declined"), "card_declined")),
		"permanent inside":  WithCode(Permanent(errors.New("card declined")), "card_declined"),
		"wrapped":           fmt.Errorf("charge: %w", Permanent(WithCode(errors.New("card declined"), "card_declined"))),
		"no code":           Permanent(errors.New("card declined")),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := RunnerFunc(func(context.Context, StepRequest) (json.RawMessage, error) { return nil, err })
			e := openEngine(t, t.TempDir(), r, Definition{Name: "seq", Plan: seqPlanner(1, false, nil)})
			_, _, serr := e.Start(testCtx(t), "w", "seq", nil)
			require.NoError(t, serr)
			w, werr := e.Wait(testCtx(t), "w")
			require.NoError(t, werr)
			require.Equal(t, abi.WorkflowFailed, w.Status)
			require.Len(t, w.Steps, 1)
			se := w.Steps[0].Error
			require.NotNil(t, se)
			assert.Equal(t, err.Error(), se.Message)
			if name == "no code" {
				assert.Empty(t, se.Code)
			} else {
				assert.Equal(t, "card_declined", se.Code)
			}
		})
	}
}
