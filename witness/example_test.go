package witness_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/sealog/sealog/witness"
)

// A checkpoint with a witness's cosignature line: VerifyNote finds which
// of the given witness keys cosigned it.
func ExampleVerifyNote() {
	// The witness's key (from a fixed seed, so the output is stable).
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	key, _ := witness.NewKey("witness.example/w1", priv.Public().(ed25519.PublicKey))

	body := "example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	// What a witness signs: cosignature/v1, the time, the checkpoint body.
	const t = 1700000000
	sig := ed25519.Sign(priv, witness.SignedMessage(t, []byte(body)))
	raw := binary.BigEndian.AppendUint32(nil, key.KeyHash())
	raw = binary.BigEndian.AppendUint64(raw, t)
	raw = append(raw, sig...)
	line := "\u2014 witness.example/w1 " + base64.StdEncoding.EncodeToString(raw) + "\n"

	// The log's own signature line is not the witness package's business;
	// a placeholder stands in for it here.
	note := body + "\n\u2014 example.com/log AAAAAQID\n" + line
	v, err := witness.VerifyNote([]byte(note), []*witness.Key{key})
	fmt.Println(err, len(v.Keys), v.Keys[0].Name())
	// Output: <nil> 1 witness.example/w1
}

// The value of serve's --witness: a cosignature key and the witness's URL.
func ExampleParseWitness() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	key, _ := witness.NewKey("witness.example/w1", priv.Public().(ed25519.PublicKey))
	w, err := witness.ParseWitness(key.String() + ",https://witness.example/")
	fmt.Println(err, w.Key.Name(), w.URL)
	// Output: <nil> witness.example/w1 https://witness.example
}
