package abi

import "time"

// Capability operations: the op argument of the ImportCall host function. Each takes a
// JSON request and leaves a JSON response (or, on a non-zero Status, an Error) in the
// result register. Byte fields ([]byte) are standard base64 in JSON. Mutating operations
// are recorded in the calling effect attempt's transaction before they run, with what it
// takes to undo them; see SPEC.md.
const (
	OpFSRead   = "fs.read"   // FSReadRequest → FSReadResponse
	OpFSWrite  = "fs.write"  // FSWriteRequest → Empty; atomic (temporary file, then rename)
	OpFSDelete = "fs.delete" // FSPathRequest → FSDeleteResponse
	OpFSMove   = "fs.move"   // FSMoveRequest → Empty
	OpFSCopy   = "fs.copy"   // FSMoveRequest → Empty
	OpFSList   = "fs.list"   // FSPathRequest → FSListResponse
	OpFSMkdir  = "fs.mkdir"  // FSMkdirRequest → Empty

	OpKVGet    = "kv.get"    // KVKeyRequest → KVGetResponse
	OpKVPut    = "kv.put"    // KVPutRequest → Empty
	OpKVDelete = "kv.delete" // KVKeyRequest → KVDeleteResponse
	OpKVList   = "kv.list"   // KVListRequest → KVListResponse

	OpHTTPRequest = "http.request" // HTTPRequest → HTTPResponse

	OpEventsPublish = "events.publish" // Event → EventsPublishResponse; held until commit

	// OpTxCompensate registers a guest-defined compensation with the attempt's
	// transaction: on rollback the host calls the node's onex_compensate export with
	// Name and Payload. TxCompensateRequest → Empty.
	OpTxCompensate = "tx.compensate"
)

// CapabilityOf returns the capability an op needs ("tx" ops need none: ok is false).
func CapabilityOf(op string) (c Capability, ok bool) {
	switch op {
	case OpFSRead, OpFSWrite, OpFSDelete, OpFSMove, OpFSCopy, OpFSList, OpFSMkdir:
		return CapabilityFS, true
	case OpKVGet, OpKVPut, OpKVDelete, OpKVList:
		return CapabilityKV, true
	case OpHTTPRequest:
		return CapabilityHTTP, true
	case OpEventsPublish:
		return CapabilityEvents, true
	}
	return "", false
}

// Empty is the response of operations that return nothing but their status.
type Empty struct{}

// FSReadRequest reads a whole file. Paths are absolute and must lie inside a directory
// the operator granted (the same path the operator wrote, e.g. /srv/data/in.json).
type FSReadRequest struct {
	Path     string `json:"path"`
	MaxBytes int64  `json:"max_bytes,omitempty"` // 0: the host's limit
}

// FSReadResponse holds the file's bytes.
type FSReadResponse struct {
	Data []byte `json:"data"`
}

// FSWriteRequest replaces (or creates) a file atomically.
type FSWriteRequest struct {
	Path string `json:"path"`
	Data []byte `json:"data"`
	Mode uint32 `json:"mode,omitempty"` // permission bits; 0: 0644
}

// FSPathRequest names one file or directory.
type FSPathRequest struct {
	Path string `json:"path"`
}

// FSDeleteResponse says whether something was deleted.
type FSDeleteResponse struct {
	Existed bool `json:"existed"`
}

// FSMoveRequest moves or copies From to To, replacing To.
type FSMoveRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// FSMkdirRequest creates a directory (and its missing parents with Parents).
type FSMkdirRequest struct {
	Path    string `json:"path"`
	Parents bool   `json:"parents,omitempty"`
}

// FSListResponse lists a directory, sorted by name.
type FSListResponse struct {
	Entries []FSEntry `json:"entries"`
}

// FSEntry is one directory entry.
type FSEntry struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	Dir     bool      `json:"dir,omitempty"`
	ModTime time.Time `json:"mod_time"`
}

// KVKeyRequest names one key of the node's key-value namespace.
type KVKeyRequest struct {
	Key string `json:"key"`
}

// KVGetResponse holds a key's value, if Found.
type KVGetResponse struct {
	Value []byte `json:"value,omitempty"`
	Found bool   `json:"found"`
}

// KVPutRequest sets a key.
type KVPutRequest struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// KVDeleteResponse says whether the key existed.
type KVDeleteResponse struct {
	Existed bool `json:"existed"`
}

// KVListRequest lists keys by prefix, sorted.
type KVListRequest struct {
	Prefix string `json:"prefix,omitempty"`
	Limit  int    `json:"limit,omitempty"` // 0: the host's limit
}

// KVListResponse holds the listed entries.
type KVListResponse struct {
	Entries []KVEntry `json:"entries"`
}

// KVEntry is one key and its value.
type KVEntry struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// HTTPRequest is an outbound request to a host the operator granted.
type HTTPRequest struct {
	Method  string              `json:"method,omitempty"` // default GET
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
	// TimeoutMS bounds this request (0: the host's default); the effect's deadline
	// applies in any case.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// MaxResponseBytes caps the response body (0: the host's limit).
	MaxResponseBytes int64 `json:"max_response_bytes,omitempty"`
	// SuccessCodes are the statuses that count as success (default: 200–299); any other
	// status fails the call with StatusUnavailable (5xx, 429: retryable) or StatusError.
	SuccessCodes []int `json:"success_codes,omitempty"`
	// Compensate is the request that undoes this one on rollback; without it the
	// operation is recorded as irreversible.
	Compensate *HTTPCompensation `json:"compensate,omitempty"`
}

// HTTPCompensation is a compensating request, sent on rollback to a granted host.
type HTTPCompensation struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
}

// HTTPResponse is what came back.
type HTTPResponse struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
}

// EventsPublishResponse holds the envelope id the host assigned to a held event.
type EventsPublishResponse struct {
	EnvelopeID string `json:"envelope_id"`
}

// TxCompensateRequest registers a guest-defined compensation.
type TxCompensateRequest struct {
	Name    string `json:"name"`              // passed to onex_compensate as its type
	Payload []byte `json:"payload,omitempty"` // passed as its data
}
