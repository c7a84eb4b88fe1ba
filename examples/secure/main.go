// Command secure shows how to connect to brokers that require SASL, TLS or
// both: it builds a gregor.ConnConfig from flags, writes one record and
// reads it back.
//
//   - -sasl-mechanism PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with -user
//     authenticates with SASL. The password comes from the environment
//     variable GREGOR_SASL_PASSWORD, never from a flag, so that it does not
//     show up in the process list or the shell history.
//   - -ca-file turns TLS on and trusts the CA certificates in that PEM file
//     (instead of the system's); -tls turns TLS on with the system's roots.
//     The broker's certificate is always verified.
//   - -cert-file and -key-file add a client certificate for mutual TLS.
//
// A refused password comes back as a *gregor.AuthError and an untrusted
// broker certificate as a *gregor.TLSError; the program tells them apart
// with errors.As and exits with status 3 and 4 respectively. Neither the
// password nor anything derived from it is printed: ConnConfig and the SASL
// mechanisms print themselves without secrets.
//
// Without -brokers it starts an in-process fake cluster that requires
// SCRAM-SHA-512 and knows -user with the password in GREGOR_SASL_PASSWORD
// (or "demo-secret" when unset), so it runs with no set-up:
//
//	go run ./examples/secure
//	GREGOR_SASL_PASSWORD=alice-secret go run ./examples/secure -brokers 127.0.0.1:9094 \
//	    -sasl-mechanism SCRAM-SHA-512 -user alice -ca-file ca.pem
//	go run ./examples/secure -brokers 127.0.0.1:9095 -ca-file ca.pem -cert-file client.pem -key-file client-key.pem
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
	"github.com/twmb/franz-go/pkg/kfake"
)

// PasswordEnv names the environment variable holding the SASL password.
const PasswordEnv = "GREGOR_SASL_PASSWORD"

// Exit statuses that tell the failures apart.
const (
	exitFailure = 1
	exitUsage   = 2
	exitAuth    = 3
	exitTLS     = 4
)

// options are the program's flags.
type options struct {
	brokers   string
	topic     string
	mechanism string
	user      string
	password  string // from PasswordEnv
	useTLS    bool
	caFile    string
	certFile  string
	keyFile   string
}

func main() {
	var o options
	flag.StringVar(&o.brokers, "brokers", "", "comma-separated bootstrap brokers; empty starts an in-process fake cluster requiring SCRAM-SHA-512")
	flag.StringVar(&o.topic, "topic", "gregor-secure", "topic to write one record to and read it back from")
	flag.StringVar(&o.mechanism, "sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty for no SASL")
	flag.StringVar(&o.user, "user", "demo", "SASL user name (the password is read from $"+PasswordEnv+")")
	flag.BoolVar(&o.useTLS, "tls", false, "use TLS, trusting the system's root certificates")
	flag.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust; implies TLS")
	flag.StringVar(&o.certFile, "cert-file", "", "PEM client certificate for mutual TLS; needs -key-file")
	flag.StringVar(&o.keyFile, "key-file", "", "PEM private key of -cert-file")
	flag.Parse()
	o.password = os.Getenv(PasswordEnv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, o)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "secure:", err)
	var authErr *gregor.AuthError
	var tlsErr *gregor.TLSError
	var cfgErr *gregor.ConfigError
	switch {
	case errors.As(err, &authErr):
		fmt.Fprintf(os.Stderr, "secure: the broker refused the credentials of %q (*gregor.AuthError, mechanism %s)\n", o.user, authErr.Mechanism)
		os.Exit(exitAuth)
	case errors.As(err, &tlsErr):
		fmt.Fprintln(os.Stderr, "secure: the TLS handshake failed (*gregor.TLSError); check -ca-file and the broker's host name")
		os.Exit(exitTLS)
	case errors.As(err, &cfgErr), errors.Is(err, errUsage):
		os.Exit(exitUsage)
	}
	os.Exit(exitFailure)
}

// errUsage marks flag combinations that cannot work.
var errUsage = errors.New("invalid flags")

// connConfig builds the connection settings the flags ask for.
func connConfig(o options, seeds []string) (gregor.ConnConfig, error) {
	conn := gregor.ConnConfig{SeedBrokers: seeds, ClientID: "gregor-secure"}
	switch o.mechanism {
	case "":
	case "PLAIN":
		conn.SASL = sasl.Plain{User: o.user, Password: o.password}
	case "SCRAM-SHA-256":
		conn.SASL = sasl.Scram{Hash: sasl.ScramSHA256, User: o.user, Password: o.password}
	case "SCRAM-SHA-512":
		conn.SASL = sasl.Scram{Hash: sasl.ScramSHA512, User: o.user, Password: o.password}
	default:
		return conn, fmt.Errorf("%w: -sasl-mechanism %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", errUsage, o.mechanism)
	}
	if conn.SASL != nil && o.password == "" {
		return conn, fmt.Errorf("%w: SASL needs the password in $%s", errUsage, PasswordEnv)
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return conn, fmt.Errorf("%w: -cert-file and -key-file go together", errUsage)
	}
	if !o.useTLS && o.caFile == "" && o.certFile == "" {
		return conn, nil
	}
	// The zero ServerName is filled with each broker's host name, and
	// certificates are verified: never set InsecureSkipVerify outside tests.
	conn.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return conn, fmt.Errorf("read -ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return conn, fmt.Errorf("%w: -ca-file %s holds no PEM certificate", errUsage, o.caFile)
		}
		conn.TLS.RootCAs = pool
	}
	if o.certFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return conn, fmt.Errorf("load the client certificate: %w", err)
		}
		conn.TLS.Certificates = []tls.Certificate{cert}
	}
	return conn, nil
}

func run(ctx context.Context, o options) error {
	seeds := strings.Split(o.brokers, ",")
	if o.brokers == "" {
		if o.mechanism == "" {
			o.mechanism = "SCRAM-SHA-512"
		}
		if o.password == "" {
			o.password = "demo-secret"
		}
		fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, o.topic),
			kfake.EnableSASL(), kfake.Superuser(o.mechanism, o.user, o.password))
		if err != nil {
			return fmt.Errorf("start a fake cluster: %w", err)
		}
		defer fake.Close()
		seeds = fake.ListenAddrs()
		fmt.Printf("started a fake cluster that requires %s as %s\n", o.mechanism, o.user)
	}
	conn, err := connConfig(o, seeds)
	if err != nil {
		return err
	}
	// ConnConfig prints without secrets, so it is safe to log.
	fmt.Printf("connecting with %v\n", conn.WithDefaults())

	// Gregor's clients never create topics as a side effect of asking for
	// metadata, so create it (a topic that exists already is fine).
	if err := createTopic(ctx, conn, o.topic); err != nil {
		return err
	}

	p, err := producer.New(producer.Config{Conn: conn})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	value := fmt.Appendf(nil, "hello from %s at %s", o.user, time.Now().Format(time.RFC3339Nano))
	res, err := p.ProduceSync(ctx, &gregor.Record{Topic: o.topic, Value: value})
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	fmt.Printf("wrote a record to %s[%d] at offset %d\n", o.topic, res[0].Partition, res[0].Offset)

	c, err := consumer.New(consumer.Config{Conn: conn})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	tp := consumer.TopicPartition{Topic: o.topic, Partition: res[0].Partition}
	if err := c.Assign(map[consumer.TopicPartition]consumer.Offset{tp: consumer.AtOffset(res[0].Offset)}); err != nil {
		return err
	}
	for {
		fetches, err := c.Poll(ctx)
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return fmt.Errorf("fetch: %w", errs[0])
		}
		for _, pr := range fetches {
			for _, r := range pr.Records {
				if r.Offset == res[0].Offset {
					fmt.Printf("read it back: %q\n", r.Value)
					return nil
				}
			}
		}
	}
}

// createTopic creates topic with the broker's default partition count and
// replication factor unless it exists.
func createTopic(ctx context.Context, conn gregor.ConnConfig, topic string) error {
	adm, err := admin.New(conn)
	if err != nil {
		return err
	}
	defer adm.Close(context.Background())
	_, err = adm.CreateTopic(ctx, admin.NewTopic{Name: topic}, admin.CreateTopicsOptions{})
	if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}
