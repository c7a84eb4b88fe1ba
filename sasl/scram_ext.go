package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// scramExtClient is a SCRAM client (RFC 5802, RFC 7677) that can append
// extensions such as Kafka's "tokenauth=true" to the client-first-bare
// message, which xdg-go/scram cannot. The extensions are part of the
// authentication message that the client proof and the server signature
// cover, so the broker can trust them.
//
// Kafka does not apply SASLprep to SCRAM credentials, and delegation token
// ids and HMACs are plain ASCII, so the password is used as sent.
type scramExtClient struct {
	name     string
	newHash  func() hash.Hash
	user     string
	password string
	ext      string // ",key=value..." appended to the client-first-bare

	nonce       string
	clientFirst string // the client-first-bare message
	serverSig   []byte
	state       int // 0 sent first, 1 sent final, 2 done
}

// scramMinIterations is the lowest iteration count the client accepts, as
// RFC 7677 advises.
const scramMinIterations = 4096

func newScramExtClient(name string, newHash func() hash.Hash, user, password, ext string) (*scramExtClient, []byte, error) {
	var nb [24]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: nonce: %v", ErrAuthentication, name, err)
	}
	c := &scramExtClient{name: name, newHash: newHash, user: user, password: password, ext: ext,
		nonce: base64.RawStdEncoding.EncodeToString(nb[:])}
	return c, c.first(), nil
}

// first builds the client-first message from the nonce already chosen.
func (c *scramExtClient) first() []byte {
	c.clientFirst = "n=" + scramName(c.user) + ",r=" + c.nonce + c.ext
	return []byte("n,," + c.clientFirst)
}

// scramName escapes "=" and "," in a SCRAM user name (RFC 5802, 5.1).
func scramName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func (c *scramExtClient) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{ErrAuthentication, c.name}, args...)...)
}

// Next answers the server-first message with the client-final message and
// then checks the server signature of the server-final message.
func (c *scramExtClient) Next(challenge []byte) (bool, []byte, error) {
	switch c.state {
	case 0:
		c.state = 1
		resp, err := c.final(string(challenge))
		if err != nil {
			c.state = 2
			return false, nil, err
		}
		return false, resp, nil
	case 1:
		c.state = 2
		return c.verify(string(challenge))
	default:
		return false, nil, c.fail("message after the exchange ended")
	}
}

func (c *scramExtClient) final(serverFirst string) ([]byte, error) {
	var nonce, salt64, iters string
	for _, f := range strings.Split(serverFirst, ",") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "r":
			nonce = v
		case "s":
			salt64 = v
		case "i":
			iters = v
		case "m":
			return nil, c.fail("the broker sent a mandatory extension")
		case "e":
			return nil, c.fail("broker error %q", v)
		}
	}
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return nil, c.fail("the broker's nonce does not extend the client's")
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return nil, c.fail("bad salt in the server-first message")
	}
	n, err := strconv.Atoi(iters)
	if err != nil || n < scramMinIterations {
		return nil, c.fail("iteration count %q below %d", iters, scramMinIterations)
	}
	salted, err := pbkdf2.Key(c.newHash, c.password, salt, n, c.newHash().Size())
	if err != nil {
		return nil, c.fail("key derivation: %v", err)
	}
	clientKey := c.mac(salted, "Client Key")
	h := c.newHash()
	h.Write(clientKey)
	storedKey := h.Sum(nil)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte("n,,")) + ",r=" + nonce
	authMessage := c.clientFirst + "," + serverFirst + "," + withoutProof
	clientSig := c.mac(storedKey, authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ clientSig[i]
	}
	c.serverSig = c.mac(c.mac(salted, "Server Key"), authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func (c *scramExtClient) verify(serverFinal string) (bool, []byte, error) {
	k, v, _ := strings.Cut(serverFinal, "=")
	if k == "e" {
		v, _, _ = strings.Cut(v, ",")
		return false, nil, c.fail("broker error %q", v)
	}
	v, _, _ = strings.Cut(v, ",")
	sig, err := base64.StdEncoding.DecodeString(v)
	if k != "v" || err != nil || subtle.ConstantTimeCompare(sig, c.serverSig) != 1 {
		return false, nil, c.fail("the broker's signature did not verify")
	}
	return true, nil, nil
}

func (c *scramExtClient) mac(key []byte, msg string) []byte {
	m := hmac.New(c.newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramHashFunc returns the hash constructor of a mechanism.
func scramHashFunc(h ScramHash) func() hash.Hash {
	if h == ScramSHA512 {
		return sha512.New
	}
	return sha256.New
}
