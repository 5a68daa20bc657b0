package devpki_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/sealog/sealog/devpki"
)

// A throwaway CA issues a server certificate that verifies against it.
func ExampleCA_Issue() {
	ca, err := devpki.NewCA("example CA")
	if err != nil {
		panic(err)
	}
	certPEM, _, err := ca.Issue(devpki.CertSpec{CN: "localhost", DNSNames: []string{"localhost"}, Server: true})
	if err != nil {
		panic(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"})
	fmt.Println(cert.Subject.CommonName, "verifies:", err == nil)
	// Output: localhost verifies: true
}
