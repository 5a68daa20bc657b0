package server

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"time"
)

// revocations is the set of certificates the --tls-crl files revoke,
// keyed by issuer and serial number (RFC 5280 §5.3.3: a serial is unique
// per issuer). It is built whole at start and at each reload, and never
// changed after: handshakes read it without a lock.
type revocations map[string]struct{}

func revocationKey(rawIssuer []byte, serial []byte) string {
	return string(rawIssuer) + "\x00" + string(serial)
}

// revoked returns the first certificate of a verified chain (leaf or
// intermediate) that a CRL lists, or nil.
func (r revocations) revoked(chains [][]*x509.Certificate) *x509.Certificate {
	if len(r) == 0 {
		return nil
	}
	for _, chain := range chains {
		for _, c := range chain {
			if _, ok := r[revocationKey(c.RawIssuer, c.SerialNumber.Bytes())]; ok {
				return c
			}
		}
	}
	return nil
}

// revokedError refuses a client whose chain holds a revoked certificate:
// reason revoked, with that certificate's serial (docs/format.md §9.3).
type revokedError struct{ cert *x509.Certificate }

func (e *revokedError) Error() string {
	return fmt.Sprintf("certificate %s (serial %s) is revoked by a --tls-crl", e.cert.Subject, hex.EncodeToString(e.cert.SerialNumber.Bytes()))
}

// loadCRLs reads the CRL files (PEM, several CRLs allowed, or one DER
// CRL each) and checks every CRL's signature against a certificate of
// the client CA bundle: a CRL from anyone else is a configuration error,
// not something to apply or to ignore. A CRL past its NextUpdate is
// still applied (a stale list beats none) and named in the warnings.
func loadCRLs(files []string, caFile string, caPEM []byte, now time.Time) (revocations, []string, error) {
	if len(files) == 0 {
		return nil, nil, nil
	}
	var cas []*x509.Certificate
	for rest := caPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			cas = append(cas, c)
		}
	}
	set := revocations{}
	var warnings []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, configErrorf("cannot read --tls-crl %s: %v", f, unwrapPathError(err))
		}
		var ders [][]byte
		if bytes.Contains(data, []byte("-----BEGIN")) {
			for rest := data; ; {
				var b *pem.Block
				b, rest = pem.Decode(rest)
				if b == nil {
					break
				}
				if b.Type == "X509 CRL" {
					ders = append(ders, b.Bytes)
				}
			}
		} else {
			ders = append(ders, data)
		}
		if len(ders) == 0 {
			return nil, nil, configErrorf("--tls-crl %s holds no CRL (want PEM \"X509 CRL\" blocks or one DER CRL)", f)
		}
		for _, der := range ders {
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				return nil, nil, configErrorf("--tls-crl %s is not a CRL (want PEM \"X509 CRL\" blocks or one DER CRL): %v", f, err)
			}
			if !signedByOneOf(crl, cas) {
				return nil, nil, configErrorf("--tls-crl %s: the CRL of %s is not signed by a certificate in --tls-client-ca %s", f, crl.Issuer, caFile)
			}
			if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
				warnings = append(warnings, fmt.Sprintf("--tls-crl %s: the CRL of %s is past its next update (%s); applied anyway", f, crl.Issuer, crl.NextUpdate.UTC().Format(time.RFC3339)))
			}
			for _, e := range crl.RevokedCertificateEntries {
				set[revocationKey(crl.RawIssuer, e.SerialNumber.Bytes())] = struct{}{}
			}
		}
	}
	return set, warnings, nil
}

func signedByOneOf(crl *x509.RevocationList, cas []*x509.Certificate) bool {
	for _, ca := range cas {
		if bytes.Equal(ca.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(ca) == nil {
			return true
		}
	}
	return false
}
