package host

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Encoding says how a computation's bytes relate to the JSON data of ONEX's ComputeInput
// (its input encoding) or ComputeOutput (its output encoding). Native computations are
// always EncodingJSON; an Extism computation chooses each in its ExtismNode (default
// EncodingText), because Extism functions take and return plain bytes. Plugin.Call always
// passes bytes through unchanged; compute.Node (package host/compute) applies the encodings.
type Encoding string

const (
	// EncodingJSON passes the input data's JSON text to the guest and requires JSON back.
	EncodingJSON Encoding = "json"
	// EncodingText passes a JSON string input as its UTF-8 content (any other JSON value
	// as its JSON text), and returns output as a JSON string; output that is not UTF-8
	// fails with ErrInvalidOutput.
	EncodingText Encoding = "text"
	// EncodingBase64 expects a JSON string of standard base64 as input and returns the
	// output bytes as a JSON string of standard base64.
	EncodingBase64 Encoding = "base64"
)

func (e Encoding) valid() bool {
	return e == EncodingJSON || e == EncodingText || e == EncodingBase64
}

// guestInput turns ComputeInput data (valid JSON) into the bytes the guest receives.
func (e Encoding) guestInput(data []byte) ([]byte, error) {
	switch e {
	case EncodingText, EncodingBase64:
		if len(data) == 0 || data[0] != '"' {
			if e == EncodingBase64 {
				return nil, fmt.Errorf("data must be a JSON string of base64 (encoding %s)", e)
			}
			return data, nil
		}
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		if e == EncodingBase64 {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("data is not standard base64: %v", err)
			}
			return b, nil
		}
		return []byte(s), nil
	default:
		return data, nil
	}
}

// result turns the guest's output bytes into the ComputeOutput's JSON result.
func (e Encoding) result(out []byte) ([]byte, error) {
	switch e {
	case EncodingText:
		if !utf8.Valid(out) {
			return nil, fmt.Errorf("output of %d bytes is not UTF-8 text (declare encoding base64 for binary output)", len(out))
		}
		return jsonString(string(out))
	case EncodingBase64:
		return jsonString(base64.StdEncoding.EncodeToString(out))
	default:
		if len(out) == 0 {
			return []byte("null"), nil
		}
		if !json.Valid(out) {
			return nil, fmt.Errorf("the guest's result is not valid JSON")
		}
		return out, nil
	}
}

// jsonString quotes s as a JSON string, leaving <, > and & as they are.
func jsonString(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
