package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// TLSFiles are the PEM files the harness generates at start-up, for tools
// such as kcat that take file paths rather than a *tls.Config.
type TLSFiles struct {
	// CA is the certificate of the test certificate authority that signed the
	// broker and client certificates; trust it to verify the brokers.
	CA string
	// ClientCert is the client certificate (CN=gregor-client) for the mutual-TLS listener.
	ClientCert string
	// ClientKey is the client's private key, PKCS#8 in PEM.
	ClientKey string
}

// ClientCertSubject is the subject of the generated client certificate; the
// broker's principal for it on the mutual-TLS listener is "User:CN=gregor-client".
const ClientCertSubject = "CN=gregor-client"

type pki struct {
	files     TLSFiles
	keystore  string // broker key + chain in one PEM file
	pool      *x509.CertPool
	clientTLS tls.Certificate
}

func newPKI(dir string) (*pki, error) {
	now := time.Now().Add(-time.Hour)
	notAfter := now.Add(7 * 24 * time.Hour)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "gregor-test-ca"},
		NotBefore:             now,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	issue := func(cn string, usage x509.ExtKeyUsage, server bool) ([]byte, *ecdsa.PrivateKey, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now,
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		return der, key, err
	}
	brokerDER, brokerKey, err := issue("localhost", x509.ExtKeyUsageServerAuth, true)
	if err != nil {
		return nil, err
	}
	clientDER, clientKey, err := issue("gregor-client", x509.ExtKeyUsageClientAuth, false)
	if err != nil {
		return nil, err
	}

	p := &pki{
		files: TLSFiles{
			CA:         filepath.Join(dir, "ca.pem"),
			ClientCert: filepath.Join(dir, "client.pem"),
			ClientKey:  filepath.Join(dir, "client-key.pem"),
		},
		keystore: filepath.Join(dir, "broker-keystore.pem"),
		pool:     x509.NewCertPool(),
	}
	p.pool.AddCert(caCert)
	caPEM := pemBlock("CERTIFICATE", caDER)
	brokerKeyPEM, err := keyPEM(brokerKey)
	if err != nil {
		return nil, err
	}
	clientKeyPEM, err := keyPEM(clientKey)
	if err != nil {
		return nil, err
	}
	clientPEM := pemBlock("CERTIFICATE", clientDER)
	// Kafka's PEM keystore: the PKCS#8 key followed by the certificate chain.
	keystore := append(append(brokerKeyPEM, pemBlock("CERTIFICATE", brokerDER)...), caPEM...)
	for path, data := range map[string][]byte{
		p.files.CA:         caPEM,
		p.files.ClientCert: clientPEM,
		p.files.ClientKey:  clientKeyPEM,
		p.keystore:         keystore,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	p.clientTLS, err = tls.X509KeyPair(clientPEM, clientKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("integration: client key pair: %w", err)
	}
	return p, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}
