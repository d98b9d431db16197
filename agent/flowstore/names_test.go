package flowstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestServicesNames(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flows.db"), Options{})
	defer s.Close()
	n := 0
	add := func(r Record) {
		s.Add(r)
		n++
	}
	// web serves TLS on 443 to db; twelve flows, each with its own user
	// agent (a client cycling through them) and the same server names.
	for i := range 12 {
		r := rec(uint64(100+i), t0.Add(time.Duration(i)*time.Second), "10.0.0.2", "10.0.0.1", uint16(41000+i), 443, "db", "web")
		r.AppProto = "tls"
		r.Names = Names{"tls.cert": {"web.lab.example", "www.lab.example"}, "tls.sni": {"web.lab.example"},
			"http.user_agent": {fmt.Sprintf("agent-%02d", i)}}
		add(r)
	}
	// web answers SSH on 22.
	r := rec(200, t0.Add(20*time.Second), "10.0.0.2", "10.0.0.1", 42000, 22, "db", "web")
	r.AppProto, r.Names = "ssh", Names{"ssh.server": {"SSH-2.0-tapwatchlab_1.0"}, "ssh.client": {"SSH-2.0-Go"}}
	add(r)
	// An unanswered attempt at port 8080 carrying names: no service, and
	// its names appear nowhere among web's services.
	r = rec(201, t0.Add(21*time.Second), "10.0.0.66", "10.0.0.1", 42001, 8080, "attacker", "web")
	r.PktsToClient, r.State, r.Names = 0, "new", Names{"http.user_agent": {"scanner"}, "http.server": {"fake"}}
	add(r)
	// db resolves two names in two flows and the first again in a third,
	// the most recent.
	for i, q := range []string{"web.lab.example", "db.lab.example", "web.lab.example"} {
		r := rec(uint64(300+i), t0.Add(time.Duration(30+i)*time.Second), "10.0.0.2", "192.0.2.53", uint16(53000+i), 53, "db", "")
		r.Proto, r.AppProto, r.Names = "UDP", "dns", Names{"dns.query": {q}}
		add(r)
	}
	// A flow without names leaves its row's Names nil.
	add(rec(400, t0.Add(40*time.Second), "10.0.0.2", "10.0.0.1", 43000, 5432, "db", "web"))
	waitWritten(t, s, uint64(n))

	ctx := context.Background()
	web, err := s.Services(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	byPort := map[uint16]Service{}
	for _, v := range web {
		if v.Role != Server {
			t.Errorf("web as client: %+v", v)
		}
		byPort[v.Port] = v
	}
	if len(web) != 3 {
		t.Fatalf("web services: %+v", web)
	}
	tls := byPort[443].Names
	var wantUA []string
	for i := 11; i >= 12-MaxServiceNames; i-- {
		wantUA = append(wantUA, fmt.Sprintf("agent-%02d", i))
	}
	want := Names{"tls.cert": {"web.lab.example", "www.lab.example"}, "tls.sni": {"web.lab.example"}, "http.user_agent": wantUA}
	if !reflect.DeepEqual(tls, want) {
		t.Errorf("443 names:\n got %v\nwant %v (the %d most recent user agents)", tls, want, MaxServiceNames)
	}
	if got := byPort[22].Names; !reflect.DeepEqual(got, Names{"ssh.server": {"SSH-2.0-tapwatchlab_1.0"}, "ssh.client": {"SSH-2.0-Go"}}) {
		t.Errorf("22 names: %v", got)
	}
	if got := byPort[5432].Names; got != nil {
		t.Errorf("5432 names: %v", got)
	}

	db, err := s.Services(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	var dns, tlsClient *Service
	for i := range db {
		switch {
		case db[i].Role == Client && db[i].Port == 53:
			dns = &db[i]
		case db[i].Role == Client && db[i].Port == 443:
			tlsClient = &db[i]
		}
	}
	if dns == nil || !reflect.DeepEqual(dns.Names, Names{"dns.query": {"web.lab.example", "db.lab.example"}}) {
		t.Errorf("db's DNS client row: %+v", dns)
	}
	if tlsClient == nil || tlsClient.Peer != netip.MustParseAddr("10.0.0.1") || tlsClient.PeerVM != "web" ||
		!reflect.DeepEqual(tlsClient.Names["tls.sni"], []string{"web.lab.example"}) || len(tlsClient.Names["http.user_agent"]) != MaxServiceNames {
		t.Errorf("db's TLS client row: %+v", tlsClient)
	}
	att, _ := s.Services(ctx, "attacker")
	if len(att) != 1 || !reflect.DeepEqual(att[0].Names, Names{"http.user_agent": {"scanner"}, "http.server": {"fake"}}) {
		t.Errorf("attacker's attempt, as a client, keeps its names: %+v", att)
	}
}

func TestNamesEncoding(t *testing.T) {
	n := Names{"tls.sni": {"a.example", "b.example"}, "http.server": {"nginx/1.22 (Debian)"}, "bad": {"x\ty", ""}, "": {"z"}}
	s := n.encode()
	if s != "http.server\tnginx/1.22 (Debian)\ntls.sni\ta.example\ntls.sni\tb.example\n" {
		t.Errorf("encode: %q", s)
	}
	if got := decodeNames(s + "junk\n\tnokind\nnovalue\t\n"); !reflect.DeepEqual(got, Names{"tls.sni": {"a.example", "b.example"}, "http.server": {"nginx/1.22 (Debian)"}}) {
		t.Errorf("decode: %v", got)
	}
	if Names(nil).encode() != "" || decodeNames("") != nil {
		t.Error("no names is the empty string and back")
	}
}

// v0Schema is the flow table as tapwatch created it before names.
const v0Schema = `CREATE TABLE flows (
	id INTEGER PRIMARY KEY, flow_id INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,
	proto TEXT NOT NULL, src_ip BLOB, dst_ip BLOB, src_port INTEGER NOT NULL, dst_port INTEGER NOT NULL,
	pkts_ts INTEGER NOT NULL, pkts_tc INTEGER NOT NULL, bytes_ts INTEGER NOT NULL, bytes_tc INTEGER NOT NULL,
	state TEXT NOT NULL, reason TEXT NOT NULL, app_proto TEXT NOT NULL, community_id TEXT NOT NULL, alerted INTEGER NOT NULL,
	src_vm TEXT NOT NULL, dst_vm TEXT NOT NULL, src_vm_uuid TEXT NOT NULL, dst_vm_uuid TEXT NOT NULL);
INSERT INTO flows VALUES (1, 7, 1, 2, 'TCP', x'0a000001', x'0a000002', 40000, 80, 3, 2, 180, 120, 'closed', 'timeout', 'http', '1:x', 0, 'db', 'web', 'u-db', 'u-web');`

// TestMigrateFromV0 opens a database an older tapwatch wrote: its records
// stay readable (with no names), new records keep theirs, and opening again
// changes nothing.
func TestMigrateFromV0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(v0Schema); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for round := range 2 {
		s := open(t, path, Options{MaxAge: 100 * 365 * 24 * time.Hour})
		var v int
		if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != schemaVersion {
			t.Fatalf("round %d: user_version %d %v", round, v, err)
		}
		if round == 0 {
			r := rec(8, t0, "10.0.0.2", "10.0.0.1", 40001, 443, "db", "web")
			r.Names = Names{"tls.sni": {"web.lab.example"}}
			s.Add(r)
			waitWritten(t, s, 1)
		}
		got, err := s.Query(context.Background(), Filter{VM: "web"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[1].FlowID != 7 || got[1].Names != nil || got[0].FlowID != 8 ||
			!reflect.DeepEqual(got[0].Names, Names{"tls.sni": {"web.lab.example"}}) {
			t.Errorf("round %d: records %+v", round, got)
		}
		if svc, err := s.Services(context.Background(), "web"); err != nil || len(svc) != 2 {
			t.Errorf("round %d: services %+v %v", round, svc, err)
		}
		s.Close()
	}
}
