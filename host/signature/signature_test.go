package signature_test

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/signature"
)

func keyPair(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey) {
	t.Helper()
	privPEM, pubPEM, err := signature.GenerateKey()
	require.NoError(t, err)
	priv, err := signature.ParsePrivateKey(privPEM)
	require.NoError(t, err)
	pub, err := signature.ParsePublicKey(pubPEM)
	require.NoError(t, err)
	require.Equal(t, priv.Public(), pub)
	return priv, pub
}

func TestPolicy(t *testing.T) {
	priv, pub := keyPair(t)
	_, other := keyPair(t)
	otherPriv, _ := keyPair(t)
	module, node := []byte("\x00asm module"), []byte("computations: []\n")
	sig := signature.Sign(priv, module, node)
	trusted := signature.Policy{Trusted: []ed25519.PublicKey{other, pub}}

	require.NoError(t, trusted.Check(module, node, sig))
	require.NoError(t, signature.Policy{}.Check(module, nil, nil), "the zero policy accepts anything")
	require.NoError(t, signature.Policy{Digest: signature.Digest(module)}.Check(module, nil, nil))

	cases := map[string]struct {
		p                 signature.Policy
		module, node, sig []byte
		kind              error
	}{
		"pin mismatch":       {signature.Policy{Digest: signature.Digest([]byte("other"))}, module, node, sig, signature.ErrDigestMismatch},
		"unsigned":           {trusted, module, node, nil, signature.ErrUnsigned},
		"other key":          {trusted, module, node, signature.Sign(otherPriv, module, node), signature.ErrBadSignature},
		"other module":       {trusted, []byte("\x00asm changed"), node, sig, signature.ErrBadSignature},
		"other node":         {trusted, module, []byte("x: 1\n"), sig, signature.ErrBadSignature},
		"node dropped":       {trusted, module, nil, sig, signature.ErrBadSignature},
		"not json":           {trusted, module, node, []byte("nope"), signature.ErrBadSignature},
		"forged signature":   {trusted, module, node, forge(t, sig), signature.ErrBadSignature},
		"untrusted only key": {signature.Policy{Trusted: []ed25519.PublicKey{other}}, module, node, sig, signature.ErrBadSignature},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.p.Check(c.module, c.node, c.sig)
			require.ErrorIs(t, err, c.kind)
			var se *signature.Error
			require.ErrorAs(t, err, &se)
			assert.Contains(t, err.Error(), "plugin refused")
		})
	}
}

// forge flips a bit of the signature, keeping the file well-formed.
func forge(t *testing.T, sig []byte) []byte {
	var f signature.File
	require.NoError(t, json.Unmarshal(sig, &f))
	b := []byte(f.Signature)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	f.Signature = string(b)
	out, err := json.Marshal(f)
	require.NoError(t, err)
	return out
}
