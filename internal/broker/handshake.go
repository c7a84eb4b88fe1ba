package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/protocol"
)

// handshakeTLS wraps nc in TLS and completes the handshake. Certificate
// problems become *gregor.TLSError; other failures *gregor.NetworkError.
func handshakeTLS(ctx context.Context, cfg *gregor.ConnConfig, nc net.Conn, id int32, addr string) (net.Conn, error) {
	tc := cfg.TLS.Clone()
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc.ServerName = host
	}
	conn := tls.Client(nc, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		nc.Close()
		if isTLSVerification(err) {
			cfg.Logger.Warn("gregor: TLS handshake failed", slog.Int("broker", int(id)), slog.String("addr", addr), slog.Any("err", err))
			return nil, &gregor.TLSError{Broker: id, Addr: addr, Err: err}
		}
		return nil, &gregor.NetworkError{Broker: id, Addr: addr, Op: "tls", Err: err}
	}
	return conn, nil
}

// isTLSVerification reports whether err is about certificates or a TLS alert
// from the peer (such as a rejected client certificate), which retrying will
// not fix.
func isTLSVerification(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var al tls.AlertError
	var rh tls.RecordHeaderError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) ||
		errors.As(err, &ci) || errors.As(err, &al) || errors.As(err, &rh)
}

// handshake runs ApiVersions and, when configured, SASL authentication.
func (c *Conn) handshake(ctx context.Context) error {
	if err := c.apiVersions(ctx); err != nil {
		return err
	}
	if c.cfg.SASL == nil {
		return nil
	}
	return c.authenticate(ctx, func(ctx context.Context, req Request, v int16) (Response, error) {
		return c.do(ctx, req, v)
	})
}

// Versions of the connection's own requests: ApiVersions from v3 carries
// the client software name and version (KIP-511); SASL uses SaslHandshake v1
// with the exchange in SaslAuthenticate, which from v1 reports the session
// lifetime (KIP-368).
const (
	apiVersionsMax      int16 = 3
	saslHandshakeVer    int16 = 1
	saslAuthenticateMax int16 = 2
)

// versionRange is one API's supported versions; Max is -1 for an API the
// broker does not support.
type versionRange struct{ Min, Max int16 }

// bounded is a codec request limited to the versions the caller decodes its
// response at, for PickVersion (codec types do not implement MaxVersioner).
type bounded struct {
	protocol.Request
	lo, hi int16
}

func (b bounded) MinVersion() int16 { return b.lo }
func (b bounded) MaxVersion() int16 { return b.hi }

// apiVersions asks for the broker's version ranges with KIP-511's client
// software name and version, falling back to the version the broker offers
// when it does not support ours.
func (c *Conn) apiVersions(ctx context.Context) error {
	req := protocol.NewApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = gregor.SoftwareName, gregor.Version
	unsupported := protocol.ErrUnsupportedVersion.Code
	v := apiVersionsMax
	for attempt := 0; attempt < 3; attempt++ {
		req.Version = v
		resp, err := c.do(ctx, req, v)
		if err != nil {
			return err
		}
		av := protocol.NewApiVersionsResponse()
		av.Version = v
		err = av.Decode(resp.Body)
		if v > 0 && (err != nil || av.ErrorCode == unsupported) {
			// A broker that does not accept version v answers with a v0 body
			// listing the ApiVersions versions it does accept.
			av0 := protocol.NewApiVersionsResponse()
			av0.Version = 0
			if err0 := av0.DecodeWith(resp.Body, protocol.DecodeOptions{AllowTrailing: true}); err0 == nil && av0.ErrorCode == unsupported {
				av, err = av0, nil
			}
		}
		if err == nil && av.ErrorCode == unsupported {
			next := int16(0)
			for _, k := range av.ApiKeys {
				if k.ApiKey == protocol.KeyApiVersions {
					next = min(k.MaxVersion, apiVersionsMax)
				}
			}
			if next >= v || next < 0 {
				next = 0
			}
			c.log.Debug("gregor: ApiVersions version not supported, falling back", slog.Int("from", int(v)), slog.Int("to", int(next)))
			if v == 0 {
				break
			}
			v = next
			continue
		}
		if err != nil {
			return c.netErr("decode", fmt.Errorf("ApiVersions v%d response: %w", v, err))
		}
		if av.ErrorCode != 0 {
			return fmt.Errorf("gregor: broker %d (%s): ApiVersions: %w", c.id, c.addr, protocol.ErrorForCode(av.ErrorCode))
		}
		c.versions = versionTable(av.ApiKeys)
		if len(av.FinalizedFeatures) > 0 {
			c.features = make(map[string]int16, len(av.FinalizedFeatures))
			for _, f := range av.FinalizedFeatures {
				c.features[f.Name] = f.MaxVersionLevel
			}
		}
		return nil
	}
	return fmt.Errorf("gregor: broker %d (%s): ApiVersions: %w", c.id, c.addr, protocol.ErrUnsupportedVersion)
}

// versionTable indexes the broker's ranges by API key; keys it does not list
// have Max -1. Keys outside 0..1024 are ignored.
func versionTable(keys []protocol.ApiVersionsResponseApiVersion) []versionRange {
	var t []versionRange
	for _, k := range keys {
		if k.ApiKey < 0 || k.ApiKey > 1024 {
			continue
		}
		for int(k.ApiKey) >= len(t) {
			t = append(t, versionRange{-1, -1})
		}
		t[k.ApiKey] = versionRange{k.MinVersion, k.MaxVersion}
	}
	return t
}

type roundTrip func(ctx context.Context, req Request, v int16) (Response, error)

// authenticate runs SaslHandshake and the SaslAuthenticate rounds, then
// schedules re-authentication from the session lifetime the broker gave.
func (c *Conn) authenticate(ctx context.Context, rt roundTrip) error {
	mech := c.cfg.SASL
	authErr := func(err error, msg string) error {
		c.log.Warn("gregor: SASL authentication failed", slog.String("mechanism", mech.Name()), slog.Any("err", err), slog.String("message", msg))
		return &gregor.AuthError{Broker: c.id, Addr: c.addr, Mechanism: mech.Name(), Message: msg, Err: err}
	}
	if _, hi, ok := c.Versions(protocol.KeySaslHandshake); !ok || hi < saslHandshakeVer {
		return &gregor.VersionError{Broker: c.id, Addr: c.addr, Key: protocol.KeySaslHandshake,
			ClientMin: saslHandshakeVer, ClientMax: saslHandshakeVer, BrokerMin: -1, BrokerMax: hi}
	}
	hs := protocol.NewSaslHandshakeRequest()
	hs.Version, hs.Mechanism = saslHandshakeVer, mech.Name()
	resp, err := rt(ctx, hs, saslHandshakeVer)
	if err != nil {
		return err
	}
	hr := protocol.NewSaslHandshakeResponse()
	hr.Version = saslHandshakeVer
	if err := hr.Decode(resp.Body); err != nil {
		return c.netErr("decode", fmt.Errorf("SaslHandshake response: %w", err))
	}
	if hr.ErrorCode != 0 {
		return authErr(protocol.ErrorForCode(hr.ErrorCode), "broker mechanisms: "+strings.Join(hr.Mechanisms, ","))
	}
	authReq := protocol.NewSaslAuthenticateRequest()
	av, err := c.PickVersion(bounded{authReq, 0, saslAuthenticateMax})
	if err != nil {
		return err
	}
	ex, msg, err := mech.Start(ctx, c.addr)
	if err != nil {
		return authErr(err, "")
	}
	ar := protocol.NewSaslAuthenticateResponse()
	var lifetime int64
	for round := 0; ; round++ {
		if round > 16 {
			return authErr(errors.New("too many SASL rounds"), "")
		}
		authReq.AuthBytes = msg
		resp, err := rt(ctx, authReq, av)
		if err != nil {
			return err
		}
		ar.Version = av
		if err := ar.Decode(resp.Body); err != nil {
			return c.netErr("decode", fmt.Errorf("SaslAuthenticate response: %w", err))
		}
		if ar.ErrorCode != 0 {
			var m string
			if ar.ErrorMessage != nil {
				m = *ar.ErrorMessage
			}
			return authErr(protocol.ErrorForCode(ar.ErrorCode), m)
		}
		done, next, err := ex.Next(ar.AuthBytes)
		if err != nil {
			return authErr(err, "")
		}
		if done {
			lifetime = ar.SessionLifetimeMs
			break
		}
		msg = next
	}
	if lifetime > 0 {
		frac := c.cfg.ReauthFraction + rand.Float64()*0.1
		if frac > 0.95 {
			frac = 0.95
		}
		after := time.Duration(float64(lifetime)*frac) * time.Millisecond
		c.reauthDue.Store(time.Now().Add(after).UnixNano())
		c.log.Debug("gregor: SASL session", slog.Duration("lifetime", time.Duration(lifetime)*time.Millisecond), slog.Duration("reauth_after", after))
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

// reauthenticate runs in the writer goroutine, so no other request is
// written until it completes (KIP-368); responses to requests already in
// flight are still read and delivered meanwhile.
func (c *Conn) reauthenticate(bp *[]byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	err := c.authenticate(ctx, func(ctx context.Context, req Request, v int16) (Response, error) {
		return c.inlineRoundTrip(ctx, bp, req, v)
	})
	if err != nil {
		return err
	}
	c.reauths.Add(1)
	if c.m != nil && c.m.reauth != nil {
		c.m.reauth.Add(ctx, 1, c.ioOpt)
	}
	c.log.Info("gregor: re-authenticated", slog.Duration("took", time.Since(start)))
	return nil
}

// inlineRoundTrip writes req from the writer goroutine itself and waits for
// its response. It takes no in-flight slot, since requests queued behind it
// may hold them all.
func (c *Conn) inlineRoundTrip(ctx context.Context, bp *[]byte, req Request, v int16) (Response, error) {
	cl := getCall()
	cl.req, cl.key, cl.ver = req, req.Key(), v
	cl.flexResp = req.IsFlexible()
	cl.noResp, cl.noSlot = false, true
	cl.start = time.Now()
	cl.deadline = cl.start.Add(c.cfg.RequestTimeout)
	c.mu.Lock()
	if c.dead {
		err := c.deadErr
		c.mu.Unlock()
		putCall(cl)
		return Response{}, err
	}
	c.corr++
	cl.corr = c.corr
	cl.state = stateInflight
	if len(c.inflight) == 0 {
		c.nc.SetReadDeadline(cl.deadline)
	}
	c.inflight = append(c.inflight, cl)
	c.mu.Unlock()
	buf, err := c.appendRequest((*bp)[:0], req, cl.key, v, cl.corr, nil)
	*bp = buf
	if err != nil {
		// Nothing was written; the connection is still in order, but the
		// call sits in inflight awaiting a response that will not come, so
		// the connection has to go.
		err = fmt.Errorf("gregor: broker %d (%s): encoding API key %d: %w", c.id, c.addr, cl.key, err)
		c.fail(err)
	} else {
		c.nc.SetWriteDeadline(time.Now().Add(c.cfg.RequestTimeout))
		_, err = c.nc.Write(buf)
		c.m.wrote(c, len(buf))
		if err != nil {
			c.fail(c.netErr("write", err)) // delivers the error to cl
		}
	}
	select {
	case <-cl.done:
		return c.finish(cl)
	case <-ctx.Done():
		c.mu.Lock()
		if cl.state == stateDone {
			c.mu.Unlock()
			<-cl.done
			return c.finish(cl)
		}
		cl.state = stateAbandoned
		c.mu.Unlock()
		return Response{}, ctx.Err()
	}
}
