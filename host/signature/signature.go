// Package signature signs plugins with ed25519 keys and checks them against a policy: a
// digest pin and a set of trusted public keys.
//
// # What is signed
//
// A signature covers the module (the .wasm file) and its node description (the Extism
// sidecar, <name>.onex.yaml, when there is one), by digest. The signed bytes are the
// payload
//
//	onex-host plugin signature v1
//	module sha256:<hex of the module's SHA-256>
//	node sha256:<hex of the sidecar's SHA-256>    (or "node none" without a sidecar)
//
// with a newline after each line. A native plugin's manifest is part of its module, so
// it is covered by the module digest; an Extism plugin's is its sidecar.
//
// # Files
//
// A private key file is PEM "PRIVATE KEY" (PKCS #8), a public key file PEM "PUBLIC KEY"
// (PKIX), as `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write
// them. A signature file (<plugin>.wasm.sig; in a registry, a layer of the artifact) is
// JSON:
//
//	{"format": "onex-ed25519-v1", "module": "sha256:…", "node": "sha256:…" or "",
//	 "key": "sha256:<hex of the SHA-256 of the public key's PKIX DER>",
//	 "signature": "<base64 (standard, padded) of the 64-byte ed25519 signature of the payload>"}
package signature

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// Format is the signature file's format field.
const Format = "onex-ed25519-v1"

// Suffix is appended to a module's path to name its signature file.
const Suffix = ".sig"

// Digest returns "sha256:<hex>" of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Payload returns the bytes a signature covers: the module's digest and the node
// description's ("" when there is none).
func Payload(moduleDigest, nodeDigest string) []byte {
	node := nodeDigest
	if node == "" {
		node = "none"
	}
	return []byte("onex-host plugin signature v1\nmodule " + moduleDigest + "\nnode " + node + "\n")
}

// File is a signature file's content.
type File struct {
	Format    string `json:"format"`
	Module    string `json:"module"`
	Node      string `json:"node"`
	Key       string `json:"key"`
	Signature string `json:"signature"`
}

// KeyID names a public key: "sha256:<hex>" of its PKIX DER encoding.
func KeyID(pub ed25519.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub) // ed25519 keys always marshal
	return Digest(der)
}

// Sign signs module and node (nil: no node description) with key and returns the
// signature file.
func Sign(key ed25519.PrivateKey, module, node []byte) []byte {
	f := File{Format: Format, Module: Digest(module), Key: KeyID(key.Public().(ed25519.PublicKey))}
	if node != nil {
		f.Node = Digest(node)
	}
	f.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, Payload(f.Module, f.Node)))
	out, _ := json.MarshalIndent(f, "", "  ")
	return append(out, '\n')
}

// GenerateKey returns a new key pair as PEM files: the private key, then the public key.
func GenerateKey() (private, public []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), nil
}

// ParsePrivateKey decodes a PEM "PRIVATE KEY" ed25519 key.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM PRIVATE KEY")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an ed25519 key", k)
	}
	return ek, nil
}

// ParsePublicKey decodes a PEM "PUBLIC KEY" ed25519 key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an ed25519 key", k)
	}
	return ek, nil
}

// ReadPublicKeys reads public key files.
func ReadPublicKeys(paths []string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		k, err := ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", p, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// Errors wrapped by *Error (errors.Is).
var (
	// ErrDigestMismatch: the module is not the pinned build.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrUnsigned: a signature is required and there is none.
	ErrUnsigned = errors.New("unsigned")
	// ErrBadSignature: a signature that does not verify, covers other content, or is
	// not by a trusted key.
	ErrBadSignature = errors.New("bad signature")
)

// Error is a plugin refused by a Policy.
type Error struct {
	Kind   error // ErrDigestMismatch, ErrUnsigned or ErrBadSignature
	Detail string
}

func (e *Error) Error() string { return "plugin refused: " + e.Kind.Error() + ": " + e.Detail }
func (e *Error) Unwrap() error { return e.Kind }

// Policy is what a plugin must satisfy to load. The zero Policy accepts anything.
type Policy struct {
	// Digest, when set, is the module's required digest ("sha256:<hex>").
	Digest string
	// Trusted, when not empty, requires a valid signature by one of these keys.
	Trusted []ed25519.PublicKey
}

// Check checks module, its node description (nil: none) and its signature file (nil:
// none) against p. The error is an *Error.
func (p Policy) Check(module, node, sig []byte) error {
	md := Digest(module)
	if p.Digest != "" && p.Digest != md {
		return &Error{ErrDigestMismatch, fmt.Sprintf("the module is %s, the pin %s", md, p.Digest)}
	}
	if len(p.Trusted) == 0 {
		return nil
	}
	if sig == nil {
		return &Error{ErrUnsigned, "a signature by a trusted key is required and the plugin has none"}
	}
	var f File
	if err := json.Unmarshal(sig, &f); err != nil {
		return &Error{ErrBadSignature, "the signature file is not JSON: " + err.Error()}
	}
	if f.Format != Format {
		return &Error{ErrBadSignature, fmt.Sprintf("format %q, want %q", f.Format, Format)}
	}
	nd := ""
	if node != nil {
		nd = Digest(node)
	}
	if f.Module != md || f.Node != nd {
		return &Error{ErrBadSignature, fmt.Sprintf("it signs module %s node %q; this is module %s node %q", f.Module, f.Node, md, nd)}
	}
	raw, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil {
		return &Error{ErrBadSignature, "signature: " + err.Error()}
	}
	payload := Payload(md, nd)
	for _, k := range p.Trusted {
		if KeyID(k) == f.Key && ed25519.Verify(k, payload, raw) {
			return nil
		}
	}
	for _, k := range p.Trusted {
		if KeyID(k) == f.Key {
			return &Error{ErrBadSignature, "the signature by trusted key " + f.Key + " does not verify"}
		}
	}
	return &Error{ErrBadSignature, "signed by key " + f.Key + ", which is not trusted"}
}
