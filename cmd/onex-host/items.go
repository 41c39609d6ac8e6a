package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// What a batch input line is (--lines).
const (
	linesData     = "data"     // each line is one item's data (the default)
	linesEnvelope = "envelope" // each line is one whole ComputeInput envelope
)

// itemSource is the batch command's input, a JSON Lines file that has been checked in
// full, so that a bad line is reported before anything runs. stdin is spooled to a
// temporary file during the check, so it too can be read a second time without being
// held in memory. Not safe for concurrent use.
type itemSource struct {
	f     *os.File
	name  string // for messages: "--input <path>"
	spool bool   // f is stdin's spool, removed by Close
	total int    // items (non-blank lines)
	opts  batchOptions
}

// openItems opens --input and checks every line. A line that does not parse is misuse.
func openItems(e *env, opts batchOptions) (*itemSource, error) {
	s := &itemSource{name: "--input " + opts.inputPath, opts: opts}
	count := func(int, abi.ComputeInput) error { s.total++; return nil }
	if opts.inputPath != "-" {
		f, err := os.Open(opts.inputPath)
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
		s.f = f
		if err := s.each(count); err != nil {
			_ = s.Close()
			return nil, err
		}
		return s, nil
	}
	f, err := os.CreateTemp("", "onex-host-batch-*.jsonl")
	if err != nil {
		return nil, failure{fmt.Errorf("--input -: spool stdin: %w", err)}
	}
	s.f, s.spool = f, true
	w := bufio.NewWriterSize(f, 1<<20)
	err = s.scan(io.TeeReader(e.stdin, w), count)
	if err == nil {
		if err = w.Flush(); err != nil {
			err = failure{fmt.Errorf("--input -: spool stdin: %w", err)}
		}
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the file, and removes it when it is stdin's spool.
func (s *itemSource) Close() error {
	err := s.f.Close()
	if s.spool {
		err = errors.Join(err, os.Remove(s.f.Name()))
	}
	return err
}

// each calls fn with every item and its line number (from 1), from the start of the
// file; it stops at fn's first error and returns it.
func (s *itemSource) each(fn func(line int, in abi.ComputeInput) error) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return failure{fmt.Errorf("%s: %w", s.name, err)}
	}
	return s.scan(s.f, fn)
}

// scan parses r line by line; blank lines are skipped.
func (s *itemSource) scan(r io.Reader, fn func(line int, in abi.ComputeInput) error) error {
	sc := bufio.NewScanner(r)
	maxLine := s.opts.maxLineBytes()
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		in, err := s.opts.parseItem(b)
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", s.name, line, err)
		}
		if err := fn(line, in); err != nil {
			return err
		}
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("%s: line %d: longer than %d bytes (the input limit plus %d for an envelope); raise it with --max-input", s.name, line+1, maxLine, envelopeRoom)
	case err != nil:
		return failure{fmt.Errorf("%s: %w", s.name, err)}
	}
	return nil
}

// maxLineBytes bounds an input line: the input limit plus room for a ComputeInput
// envelope around the data.
func (o batchOptions) maxLineBytes() int {
	limit := o.maxInput
	if limit <= 0 {
		limit = host.DefaultMaxInputBytes
	}
	return limit + envelopeRoom
}

// parseItem turns one non-blank input line into a ComputeInput. With --lines data (the
// default) the line is the item's data, of computation --type; with --lines envelope it
// is a whole ComputeInput, decoded as strictly as every other door does (it names its
// computation_type and holds only the envelope's fields). Either way the data is one
// valid UTF-8 JSON value. --no-cache sets NoCache. The input does not alias line.
func (o batchOptions) parseItem(line []byte) (abi.ComputeInput, error) {
	line = bytes.TrimSpace(line)
	if o.lines == linesEnvelope {
		in, err := abi.DecodeComputeInput(line)
		if err != nil {
			return abi.ComputeInput{}, err
		}
		in.Data = bytes.Clone(in.Data)
		in.NoCache = in.NoCache || o.noCache
		return in, nil
	}
	if err := abi.CheckData(line); err != nil {
		return abi.ComputeInput{}, err
	}
	return abi.ComputeInput{ComputationType: o.computation, Data: bytes.Clone(line), NoCache: o.noCache}, nil
}
