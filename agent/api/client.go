package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/record"
)

// Client talks to tapwatchd's control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://tapwatchd"+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("tapwatchd control socket %s: %w (is tapwatchd running? systemctl status tapwatchd)", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("tapwatchd %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// VMs lists the inventory.
func (c *Client) VMs(ctx context.Context) ([]VM, error) {
	var v []VM
	return v, c.do(ctx, http.MethodGet, "/v1/vms", nil, &v)
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var v Status
	return v, c.do(ctx, http.MethodGet, "/v1/status", nil, &v)
}

// Hook reports a libvirt hook invocation.
func (c *Client) Hook(ctx context.Context, ev HookEvent) (HookReply, error) {
	var v HookReply
	return v, c.do(ctx, http.MethodPost, "/v1/hook", ev, &v)
}

// Alerts calls fn with each EVE alert line (recent ones, then live ones when
// follow is set) until ctx ends or the daemon closes the stream.
func (c *Client) Alerts(ctx context.Context, vm string, follow bool, fn func(line []byte)) error {
	q := url.Values{}
	if vm != "" {
		q.Set("vm", vm)
	}
	if follow {
		q.Set("follow", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://tapwatchd/v1/alerts?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("tapwatchd control socket %s: %w (is tapwatchd running?)", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tapwatchd alerts: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	if ctx.Err() != nil || errors.Is(sc.Err(), io.ErrUnexpectedEOF) {
		// The daemon stopping ends a follow; that is not the reader's error.
		return nil
	}
	return sc.Err()
}

// Flows queries the flow store.
func (c *Client) Flows(ctx context.Context, f flowstore.Filter) ([]flowstore.Record, error) {
	q := url.Values{}
	if f.VM != "" {
		q.Set("vm", f.VM)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if f.Peer.IsValid() {
		q.Set("peer", f.Peer.String())
	}
	if f.Port != 0 {
		q.Set("port", strconv.Itoa(int(f.Port)))
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var v []flowstore.Record
	return v, c.do(ctx, http.MethodGet, "/v1/flows?"+q.Encode(), nil, &v)
}

// Profile returns what a VM really is on the network.
func (c *Client) Profile(ctx context.Context, vm string) (Profile, error) {
	var v Profile
	return v, c.do(ctx, http.MethodGet, "/v1/vms/"+url.PathEscape(vm), nil, &v)
}

// Pcap writes the recorded packets q selects to w as pcapng.
func (c *Client) Pcap(ctx context.Context, q record.Query, w io.Writer) (int64, error) {
	b, err := json.Marshal(q)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://tapwatchd/v1/pcap", bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("tapwatchd control socket %s: %w (is tapwatchd running?)", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("tapwatchd pcap: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return io.Copy(w, resp.Body)
}
